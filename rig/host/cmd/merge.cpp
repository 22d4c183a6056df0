// SPDX-License-Identifier: GPL-2.0-only
#include "host/cmd/merge.hpp"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "host/run/report.hpp"
#include "host/run/report_html.hpp"
#include "host/run/suite.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"

namespace luo::host {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const Verdict kVerdicts[] = {Verdict::pass,  Verdict::violation, Verdict::crash,
			     Verdict::hang,  Verdict::flaky,     Verdict::infra,
			     Verdict::setup, Verdict::incomplete, Verdict::fail,
			     Verdict::skip};

std::string str(const json &j, const char *key)
{
	if (!j.is_object() || !j.contains(key) || !j[key].is_string())
		return "";
	return j[key].get<std::string>();
}

double num(const json &j, const char *key)
{
	if (!j.is_object() || !j.contains(key) || !j[key].is_number())
		return 0;
	return j[key].get<double>();
}

bool flag(const json &j, const char *key)
{
	return j.is_object() && j.contains(key) && j[key].is_boolean() && j[key].get<bool>();
}

Verdict verdict_of(const std::string &s)
{
	for (auto v : kVerdicts)
		if (s == to_string(v))
			return v;
	return Verdict::incomplete;
}

// Values the shards may legitimately disagree on (each CI runner picks its
// own acceleration): keep every distinct one rather than the first.
std::string joined(const std::vector<std::pair<std::string, json>> &in, const char *key)
{
	std::vector<std::string> seen;
	for (const auto &[name, j] : in) {
		std::string v = str(j["summary"], key);
		if (std::find(seen.begin(), seen.end(), v) == seen.end())
			seen.push_back(v);
	}
	std::string o;
	for (const auto &v : seen)
		o += (o.empty() ? "" : " / ") + v;
	return o;
}

void must_agree(const std::string &what, const std::string &first_file, const std::string &a,
		const std::string &file, const std::string &b)
{
	if (a == b)
		return;
	throw SetupError(file + ": " + what + " \"" + b + "\" differs from \"" + a + "\" in " +
			 first_file + "; shards of one run must share it, so these cannot be merged");
}

// ktap_report and junit_report take CaseResults; everything they print is
// in the JSON except the steps, which they do not print.
std::vector<CaseResult> case_results(const json &cases)
{
	std::vector<CaseResult> out;
	for (const auto &c : cases) {
		CaseResult r;
		r.id = str(c, "id");
		r.scenario = str(c, "scenario");
		r.verdict = verdict_of(str(c, "verdict"));
		r.message = str(c, "message");
		r.diagnostic = str(c, "diagnostic");
		r.vm_dir = str(c, "vm_dir");
		r.host = str(c, "host");
		r.schedule = str(c, "schedule");
		r.attempts = (int)num(c, "attempts");
		r.infra_retried = flag(c, "infra_retried");
		if (c.contains("warnings") && c["warnings"].is_array())
			for (const auto &w : c["warnings"])
				if (w.is_string())
					r.warnings.push_back(w.get<std::string>());
		out.push_back(std::move(r));
	}
	return out;
}

RunSummary run_summary(const json &s)
{
	RunSummary r;
	const json &k = s.contains("kernel") ? s["kernel"] : json::object();
	r.kernel_source = str(k, "source");
	r.kernel_release = str(k, "release");
	if (r.kernel_release.empty())
		r.kernel_release = str(s, "kernel_version");
	r.kernel_key = str(k, "key");
	r.kernel_from_cache = flag(k, "from_cache");
	r.kernel_prebuilt = flag(k, "prebuilt");
	if (!str(k, "flavour").empty())
		r.kernel_flavour = str(k, "flavour");
	r.accel = str(s, "accel");
	r.accel_reason = str(s, "accel_reason");
	r.contract = str(s, "contract");
	r.fault = str(s, "fault");
	r.qemu_version = str(s, "qemu_version");
	r.infra_retried = (int)num(s, "infra_retried");
	r.allow_flaky = flag(s, "allow_flaky");
	r.run_dir = str(s, "run_dir");
	r.wall_seconds = num(s, "wall_seconds");
	r.vms = (int)num(s, "vms");
	r.boots = (int)num(s, "boots");
	if (s.contains("hosts") && s["hosts"].is_object())
		for (const auto &[h, n] : s["hosts"].items())
			if (n.is_number())
				r.vms_per_host[h] = n.get<int>();
	return r;
}

bool has_baseline(const json &results)
{
	return results.contains("baseline") && results["baseline"].is_object();
}

// Shards of a gated run each compared their own cases; together they are
// the whole comparison.  Half a comparison would mislead, so null unless
// every shard has one.
json merged_baseline(const std::vector<std::pair<std::string, json>> &inputs, const json &cases)
{
	if (!std::all_of(inputs.begin(), inputs.end(),
			 [](const auto &in) { return has_baseline(in.second); }))
		return nullptr;
	json b = inputs.front().second["baseline"];
	for (const char *k : {"new_failures", "fixed", "still_failing"}) {
		json l = json::array();
		std::set<std::string> seen;
		for (const auto &[name, j] : inputs) {
			const json &part = j["baseline"];
			if (!part.contains(k) || !part[k].is_array())
				continue;
			// A fixed glob is reported by every shard that ran it.
			for (const auto &e : part[k])
				if (seen.insert(e.dump()).second)
					l.push_back(e);
		}
		b[k] = l;
	}
	// A glob one shard saw all pass is not fixed when another shard still
	// fails a case of it: fixed means every case it matches passed.
	json fixed = json::array();
	for (const auto &e : b["fixed"]) {
		std::string pattern = str(e, "case");
		bool all_pass = std::none_of(cases.begin(), cases.end(), [&](const json &c) {
			return glob_match(pattern, str(c, "id")) && str(c, "verdict") != "pass";
		});
		if (all_pass)
			fixed.push_back(e);
	}
	b["fixed"] = fixed;
	return b;
}

} // namespace

json merge_results(const std::vector<std::pair<std::string, json>> &inputs, const fs::path &out_dir)
{
	if (inputs.empty())
		throw SetupError("merge: no results.json given");
	for (const auto &[name, j] : inputs)
		if (!j.is_object() || !j.contains("summary") || !j["summary"].is_object() ||
		    !j.contains("cases") || !j["cases"].is_array())
			throw SetupError(name + ": not a luo-rig results.json (no \"summary\" object "
						"and \"cases\" list)");

	const auto &[first_name, first] = inputs.front();
	const json &fs0 = first["summary"];
	auto key_of = [](const json &s) {
		return s.contains("kernel") ? str(s["kernel"], "key") : std::string();
	};
	auto release_of = [](const json &s) {
		return s.contains("kernel") ? str(s["kernel"], "release") : str(s, "kernel_version");
	};
	for (const auto &[name, j] : inputs) {
		const json &s = j["summary"];
		must_agree("kernel key", first_name, key_of(fs0), name, key_of(s));
		must_agree("kernel release", first_name, release_of(fs0), name, release_of(s));
		must_agree("contract", first_name, str(fs0, "contract"), name, str(s, "contract"));
		// Fault knobs change what the kernel does as much as a patch.
		must_agree("fault knobs", first_name, str(fs0, "fault"), name, str(s, "fault"));
	}

	json cases = json::array();
	std::map<std::string, std::string> owner;
	double wall = 0;
	int vms = 0, boots = 0, retried = 0;
	json hosts = json::object();
	bool from_cache = true, allow_flaky = true;
	json merged_from = json::array();
	for (const auto &[name, j] : inputs) {
		for (const auto &c : j["cases"]) {
			std::string id = str(c, "id");
			if (id.empty())
				throw SetupError(name + ": a case without an \"id\"");
			// Counted under "" and reported as incomplete, it would be
			// a failure nobody can read.
			if (str(c, "verdict").empty())
				throw SetupError(name + ": case " + id + " has no \"verdict\"");
			auto [it, fresh] = owner.emplace(id, name);
			if (!fresh)
				throw SetupError(name + ": case " + id + " is also in " + it->second +
						 "; were the same shard's results given twice?");
			cases.push_back(c);
		}
		const json &s = j["summary"];
		wall = std::max(wall, num(s, "wall_seconds"));
		vms += (int)num(s, "vms");
		boots += (int)num(s, "boots");
		if (s.contains("hosts") && s["hosts"].is_object())
			for (const auto &[h, n] : s["hosts"].items())
				if (n.is_number())
					hosts[h] = (hosts.contains(h) ? hosts[h].get<int>() : 0) + n.get<int>();
		retried += (int)num(s, "infra_retried");
		from_cache &= s.contains("kernel") && flag(s["kernel"], "from_cache");
		// The stricter reading wins: a shard that failed on flaky cases
		// must not pass once merged.
		allow_flaky &= flag(s, "allow_flaky");
		merged_from.push_back(name);
	}

	json counts = json::object();
	for (auto v : kVerdicts)
		counts[to_string(v)] = 0;
	for (const auto &c : cases) {
		std::string v = str(c, "verdict");
		counts[v] = (counts.contains(v) ? counts[v].get<int>() : 0) + 1;
	}

	json s = fs0;
	s["total"] = cases.size();
	s["counts"] = counts;
	if (s.contains("kernel") && s["kernel"].is_object())
		s["kernel"]["from_cache"] = from_cache;
	s["accel"] = joined(inputs, "accel");
	s["accel_reason"] = joined(inputs, "accel_reason");
	s["qemu_version"] = joined(inputs, "qemu_version");
	s["wall_seconds"] = wall;
	s["vms"] = vms;
	s["boots"] = boots;
	s["hosts"] = hosts;
	// A shard's hints count its own cases only (every preserve of a kind
	// failed there); the merged results have no objects to count them
	// again, and a shard's claim must not pass for the whole run's.
	s["hints"] = json::array();
	s["infra_retried"] = retried;
	s["allow_flaky"] = allow_flaky;
	s["run_dir"] = fs::absolute(out_dir).lexically_normal().string();
	s["merged_from"] = merged_from;
	json out{{"summary", s}, {"cases", cases}};

	json b = merged_baseline(inputs, cases);
	if (!b.is_null())
		out["baseline"] = std::move(b);
	return out;
}

int run_merge(const fs::path &out_dir, const std::vector<fs::path> &inputs)
{
	std::vector<std::pair<std::string, json>> parsed;
	for (const auto &p : inputs) {
		std::string text;
		try {
			text = read_file(p);
		} catch (const std::exception &) {
			throw SetupError(p.string() + ": cannot be read");
		}
		try {
			parsed.emplace_back(p.string(), json::parse(text));
		} catch (const json::parse_error &e) {
			throw SetupError(p.string() + ": not valid JSON (" + e.what() + ")");
		}
	}
	json merged = merge_results(parsed, out_dir);
	if (!merged.contains("baseline") &&
	    std::any_of(parsed.begin(), parsed.end(), [](const auto &in) { return has_baseline(in.second); }))
		std::cerr << "luo-rig: merge: only some shards were run with --baseline; the "
			     "merged reports carry no baseline comparison\n";
	auto cases = case_results(merged["cases"]);
	RunSummary s = run_summary(merged["summary"]);
	fs::create_directories(out_dir);
	write_file_atomic(out_dir / "results.json", merged.dump(1));
	write_file_atomic(out_dir / "results.ktap", ktap_report(cases, s));
	write_file_atomic(out_dir / "results.xml", junit_report(cases, s));
	write_file_atomic(out_dir / "report.html", html_report(merged));
	std::cerr << summary_table(cases, s) << "merged " << inputs.size() << " result file(s) into "
		  << out_dir.string() << "\n";
	return kExitPass;
}

} // namespace luo::host
