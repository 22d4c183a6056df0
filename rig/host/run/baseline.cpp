// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/baseline.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "host/run/signature.hpp"
#include "host/run/suite.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"

namespace luo::host {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr Verdict kVerdicts[] = {Verdict::pass,  Verdict::violation, Verdict::crash,
				 Verdict::hang,  Verdict::flaky,     Verdict::infra,
				 Verdict::setup, Verdict::incomplete, Verdict::fail,
				 Verdict::skip};

[[noreturn]] void bad(const fs::path &file, const std::string &why)
{
	throw SetupError("--baseline " + file.string() + ": " + why);
}

std::string nonempty_string(const json &entry, const char *key)
{
	if (!entry.contains(key) || !entry[key].is_string())
		return "";
	return entry[key].get<std::string>();
}

// A failing case's signature as its run recorded it; a results.json
// written before signatures were recorded gets one from its message, as
// failure_signature() makes it.
std::string previous_signature(const json &c, const std::string &verdict)
{
	if (std::string s = nonempty_string(c, "signature"); !s.empty())
		return s;
	if (verdict == to_string(Verdict::pass))
		return "";
	for (Verdict v : kVerdicts)
		if (verdict == to_string(v)) {
			CaseResult r;
			r.verdict = v;
			r.message = nonempty_string(c, "message");
			return failure_signature(r);
		}
	return verdict + ": " + nonempty_string(c, "message");
}

Baseline::Conditions conditions_of(const json &results)
{
	Baseline::Conditions c;
	if (!results.contains("summary") || !results["summary"].is_object())
		return c;
	const json &s = results["summary"];
	if (!s.contains("contract") || !s["contract"].is_string())
		return c;
	c.known = true;
	c.contract = s["contract"].get<std::string>();
	c.flavour = "default";
	if (s.contains("kernel") && s["kernel"].is_object())
		if (std::string f = nonempty_string(s["kernel"], "flavour"); !f.empty())
			c.flavour = f;
	c.inject = nonempty_string(s, "inject");
	std::string fault = nonempty_string(s, "fault");
	if (auto eq = fault.find('='); eq != std::string::npos)
		fault.erase(0, eq + 1);
	std::istringstream in(fault);
	for (std::string k; std::getline(in, k, ',');)
		if (!k.empty())
			c.knobs.push_back(k);
	std::sort(c.knobs.begin(), c.knobs.end());
	return c;
}

std::string knob_list(const std::vector<std::string> &knobs)
{
	std::string s;
	for (const auto &k : knobs)
		s += (s.empty() ? "" : ",") + k;
	return s.empty() ? "none" : s;
}

} // namespace

void check_baseline_fits(const Baseline &b, const std::string &contract,
			 const std::vector<std::string> &knobs, const std::string &flavour,
			 const std::string &inject)
{
	if (!b.from_results)
		return;
	const auto &c = b.conditions;
	if (!c.known)
		bad(b.file, "this results.json does not say which contract, fault knobs and kernel "
			    "flavour it was run with (no \"summary\" with a \"contract\"), so its "
			    "failures cannot be told known or new; use a results.json written by "
			    "`luo-rig run`, or a known-failures file");
	std::vector<std::string> now = knobs;
	std::sort(now.begin(), now.end());
	std::string what;
	if (c.contract != contract)
		what = "contract " + c.contract + ", this run " + contract;
	else if (c.knobs != now)
		what = "fault knobs " + knob_list(c.knobs) + ", this run " + knob_list(now);
	else if (c.flavour != flavour)
		what = "kernel flavour " + c.flavour + ", this run " + flavour;
	else if (c.inject != inject)
		what = "--inject " + (c.inject.empty() ? "none" : c.inject) + ", this run " +
		       (inject.empty() ? "none" : inject);
	if (what.empty())
		return;
	bad(b.file, "it was run with " + what + "; its failures say nothing about this run. "
		    "Run with the same --contract, --fault, --kernel-flavour and --inject as the "
		    "baseline, or "
		    "take a baseline from a run like this one");
}

Baseline parse_baseline(const std::string &text, const fs::path &file)
{
	json j;
	try {
		j = json::parse(text);
	} catch (const json::parse_error &e) {
		bad(file, std::string("not valid JSON (") + e.what() + ")");
	}
	if (!j.is_object())
		bad(file, "expected a JSON object: a results.json of an earlier run, or "
			  "{\"known_failures\": [{\"case\": ID_OR_GLOB, \"reason\": WHY}]}");
	Baseline b;
	b.file = file;
	if (j.contains("known_failures")) {
		const json &l = j["known_failures"];
		if (!l.is_array())
			bad(file, "\"known_failures\" must be a list of {\"case\", \"reason\"} objects");
		for (size_t i = 0; i < l.size(); i++) {
			std::string where = "known_failures[" + std::to_string(i) + "]";
			if (!l[i].is_object())
				bad(file, where + " is not an object with \"case\" and \"reason\"");
			std::string c = nonempty_string(l[i], "case");
			if (c.empty())
				bad(file, where + " has no \"case\" (a case id or glob, as a string)");
			std::string r = nonempty_string(l[i], "reason");
			// A known failure nobody can explain is a failure being
			// ignored; the reason is what makes the list reviewable.
			if (r.empty())
				bad(file, where + " (" + c + ") has no \"reason\": say why it is known to fail");
			std::string v = nonempty_string(l[i], "verdict");
			static const std::set<std::string> acceptable{
				"contract-violation", "crash", "hang", "incomplete"};
			if (l[i].contains("verdict") && !acceptable.count(v))
				bad(file, where + " (" + c + "): \"verdict\" must be one of "
					  "contract-violation, crash, hang, incomplete");
			std::string sig = nonempty_string(l[i], "signature");
			if (l[i].contains("signature") && sig.empty())
				bad(file, where + " (" + c + "): \"signature\" must be a non-empty "
					  "string, a failure signature as `luo-rig repro` prints it "
					  "(globs allowed)");
			b.known.push_back({c, r, v, sig});
		}
		return b;
	}
	if (j.contains("cases")) {
		const json &l = j["cases"];
		if (!l.is_array())
			bad(file, "\"cases\" is not a list; is this a luo-rig results.json?");
		b.from_results = true;
		for (size_t i = 0; i < l.size(); i++) {
			std::string id = l[i].is_object() ? nonempty_string(l[i], "id") : "";
			std::string v = l[i].is_object() ? nonempty_string(l[i], "verdict") : "";
			if (id.empty() || v.empty())
				bad(file, "cases[" + std::to_string(i) +
						  "] has no \"id\" or \"verdict\"; is this a luo-rig results.json?");
			b.previous.push_back({id, v, previous_signature(l[i], v)});
		}
		b.conditions = conditions_of(j);
		return b;
	}
	bad(file, "neither a results.json (no \"cases\") nor a known-failures file (no "
		  "\"known_failures\")");
}

Baseline load_baseline(const fs::path &file)
{
	if (!fs::is_regular_file(file))
		bad(file, "no such file");
	std::string text;
	try {
		text = read_file(file);
	} catch (const std::exception &e) {
		bad(file, e.what());
	}
	return parse_baseline(text, file);
}

bool is_failing(Verdict v, bool allow_flaky)
{
	switch (v) {
	case Verdict::pass:
	case Verdict::skip:
	case Verdict::infra:
	case Verdict::setup: return false;
	case Verdict::flaky: return !allow_flaky;
	default: return true;
	}
}

bool is_failing(const std::string &verdict, bool allow_flaky)
{
	// The Verdict's rule, by name; a name this rig does not know fails, as
	// incomplete does.
	for (Verdict v : kVerdicts)
		if (verdict == to_string(v))
			return is_failing(v, allow_flaky);
	return true;
}

BaselineDiff compare_to_baseline(const Baseline &b, const std::vector<CaseResult> &cases,
				 bool allow_flaky)
{
	BaselineDiff d;
	d.file = b.file.string();
	d.kind = b.from_results ? "results" : "known-failures";
	if (b.from_results) {
		std::map<std::string, const Baseline::Previous *> prev;
		for (const auto &p : b.previous)
			prev[p.id] = &p;
		for (const auto &c : cases) {
			auto it = prev.find(c.id);
			const Baseline::Previous *p = it == prev.end() ? nullptr : it->second;
			std::string was = p ? p->verdict : "";
			bool failed_before = p && is_failing(was, allow_flaky);
			BaselineEntry e{c.id, to_string(c.verdict), was, ""};
			// A known failure covers only the same failure, by signature:
			// a violation that now also crashes, a crash that became
			// another crash, a step that fails another way, are new.
			if (is_failing(c.verdict, allow_flaky)) {
				std::string sig = failure_signature(c);
				bool same = failed_before && was == e.verdict && p->signature == sig;
				if (failed_before && !same) {
					e.signature = sig;
					e.was_signature = p->signature;
				}
				(same ? d.still_failing : d.new_failures).push_back(e);
			} else if (c.verdict == Verdict::pass && failed_before)
				d.fixed.push_back(e);
		}
		return d;
	}
	// A glob entry counts as fixed only when every case it matched in this
	// run passed: one passing case among many known failures fixes nothing.
	struct Tally {
		int matched = 0, passed = 0;
	};
	std::vector<Tally> tally(b.known.size());
	for (const auto &c : cases) {
		int hit = -1;
		for (size_t i = 0; i < b.known.size() && hit < 0; i++)
			if (glob_match(b.known[i].pattern, c.id) &&
			    (c.verdict == Verdict::pass ||
			     ((b.known[i].verdict.empty() || b.known[i].verdict == to_string(c.verdict)) &&
			      (b.known[i].signature.empty() ||
			       glob_match(b.known[i].signature, failure_signature(c))))))
				hit = (int)i;
		bool failing = is_failing(c.verdict, allow_flaky);
		if (hit < 0) {
			if (failing)
				d.new_failures.push_back({c.id, to_string(c.verdict), "", ""});
			continue;
		}
		auto &t = tally[hit];
		t.matched++;
		t.passed += c.verdict == Verdict::pass;
		if (failing)
			d.still_failing.push_back({c.id, to_string(c.verdict), "", b.known[hit].reason});
	}
	for (size_t i = 0; i < b.known.size(); i++) {
		const auto &t = tally[i];
		if (t.matched > 0 && t.passed == t.matched)
			d.fixed.push_back({b.known[i].pattern, "pass", "", b.known[i].reason});
	}
	return d;
}

json BaselineDiff::to_json() const
{
	auto list = [](const std::vector<BaselineEntry> &l) {
		json a = json::array();
		for (const auto &e : l) {
			json o{{"case", e.id}, {"verdict", e.verdict}};
			if (!e.was.empty())
				o["was"] = e.was;
			if (!e.reason.empty())
				o["reason"] = e.reason;
			if (!e.signature.empty())
				o["signature"] = e.signature;
			if (!e.was_signature.empty())
				o["was_signature"] = e.was_signature;
			a.push_back(std::move(o));
		}
		return a;
	};
	return json{{"file", file},
		    {"kind", kind},
		    {"new_failures", list(new_failures)},
		    {"fixed", list(fixed)},
		    {"still_failing", list(still_failing)}};
}

std::string BaselineDiff::text() const
{
	std::ostringstream o;
	o << "baseline " << file << ": " << new_failures.size() << " new failure(s), "
	  << fixed.size() << " fixed, " << still_failing.size() << " still failing\n";
	for (const auto &e : new_failures) {
		o << "  new: " << e.id << " ";
		if (!e.was_signature.empty())
			o << e.signature << " (was " << e.was_signature << ")";
		else
			o << e.verdict
			  << (e.was.empty() ? (kind == "results" ? " (not in the baseline)"
						       : " (not listed)")
					    : " (was " + e.was + ")");
		o << "\n";
	}
	for (const auto &e : fixed)
		o << "  fixed: " << e.id << (e.was.empty() ? "" : " (was " + e.was + ")")
		  << (e.reason.empty() ? "" : " (known: " + e.reason + ")") << "\n";
	// Still failing is what the baseline already says; the count above
	// and results.json carry the list.
	return o.str();
}

int exit_code_with_baseline(const std::vector<CaseResult> &cases, const BaselineDiff &d)
{
	if (!d.new_failures.empty())
		return kExitFail;
	bool setup = false, infra = false, ran = false;
	for (const auto &c : cases) {
		setup |= c.verdict == Verdict::setup;
		infra |= c.verdict == Verdict::infra;
		ran |= c.verdict != Verdict::skip;
	}
	if (setup)
		return kExitSetup;
	if (infra)
		return kExitInfra;
	// Nothing ran (no case, or only skips): kselftest's skip, baseline
	// or not; a gate must not read "nothing tested" as green.
	return ran ? kExitPass : kExitSkip;
}

} // namespace luo::host
