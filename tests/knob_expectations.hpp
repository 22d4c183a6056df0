// SPDX-License-Identifier: GPL-2.0-only
//
// tests/data/knobs.json: which cases each fault knob must break, at which
// step and by which rule.  The unit tests hold the file against the plans
// (every pattern names real cases, and only cases the knob can reach); the
// end-to-end tests hold a run's results.json against it both ways: every
// listed case fails as listed, every other case passes.
#pragma once

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace luo::test {

struct KnobBreak {
	std::string cases;  // the regex as written, for messages
	std::regex re;
	std::string op, object, rule;
	// A knob whose bug the kernel itself reports (a hung close) breaks
	// its cases as a crash with that report's title, not as a violation.
	std::string verdict = "contract-violation";
	std::string title;
};

struct KnobExpectation {
	std::string knob, bug;
	std::vector<std::string> scenarios;
	// Empty: every case of the scenarios, in the rig's default schedules.
	std::vector<std::string> select, schedules;
	// The contract the run judges by; empty: agreed.  A knob that breaks a
	// rule only another contract states is caught only under it.
	std::string contract;
	// A knob whose bug only an error path reaches: the kernel flavour and
	// --inject mode its run needs (empty: the default kernel, no injection).
	std::string flavour, inject;
	std::vector<KnobBreak> breaks;
};

inline std::filesystem::path knob_expectations_file()
{
	return std::filesystem::path(LUO_RIG_SOURCE_DIR) / "tests" / "data" / "knobs.json";
}

// Strict: a misspelt field would silently widen what a knob may break.
inline void only_fields(const nlohmann::json &j, const std::set<std::string> &allowed,
			const std::string &where)
{
	for (const auto &[k, v] : j.items())
		if (!allowed.count(k))
			throw std::runtime_error(knob_expectations_file().string() + ": " + where +
						 ": unknown field '" + k + "'");
}

inline std::vector<KnobExpectation> load_knob_expectations()
{
	auto file = knob_expectations_file();
	std::ifstream in(file);
	if (!in)
		throw std::runtime_error("cannot read " + file.string());
	auto j = nlohmann::json::parse(in);
	only_fields(j, {"$comment", "knobs"}, "top level");
	std::vector<KnobExpectation> out;
	for (const auto &k : j.at("knobs")) {
		KnobExpectation e;
		e.knob = k.at("knob").get<std::string>();
		only_fields(k, {"knob", "bug", "scenarios", "select", "schedules", "contract", "flavour",
				"inject", "breaks"},
			    e.knob);
		e.flavour = k.value("flavour", "");
		e.inject = k.value("inject", "");
		e.bug = k.at("bug").get<std::string>();
		e.scenarios = k.at("scenarios").get<std::vector<std::string>>();
		e.select = k.value("select", std::vector<std::string>{});
		e.schedules = k.value("schedules", std::vector<std::string>{});
		e.contract = k.value("contract", "");
		// A contract file of the tests' own, by its path in the tree.
		if (e.contract.find('/') != std::string::npos)
			e.contract = (std::filesystem::path(LUO_RIG_SOURCE_DIR) / e.contract).string();
		for (const auto &b : k.at("breaks")) {
			only_fields(b, {"cases", "op", "object", "rule", "verdict", "title"},
				    e.knob + " breaks");
			KnobBreak kb;
			kb.cases = b.at("cases").get<std::string>();
			kb.re = std::regex(kb.cases);
			kb.op = b.at("op").get<std::string>();
			kb.object = b.value("object", "");
			kb.rule = b.at("rule").get<std::string>();
			kb.verdict = b.value("verdict", kb.verdict);
			kb.title = b.value("title", "");
			if ((kb.verdict == "crash") == kb.title.empty())
				throw std::runtime_error(knob_expectations_file().string() + ": " +
							 e.knob + " breaks: a crash names its title, "
							 "nothing else does");
			e.breaks.push_back(std::move(kb));
		}
		out.push_back(std::move(e));
	}
	return out;
}

inline const KnobExpectation &knob_expectation(const std::string &knob)
{
	static const auto all = load_knob_expectations();
	for (const auto &e : all)
		if (e.knob == knob)
			return e;
	throw std::runtime_error("no entry for knob '" + knob + "' in " +
				 knob_expectations_file().string());
}

// The breaks whose pattern names this case (more than one is a data error
// the unit tests catch).
inline std::vector<const KnobBreak *> breaks_for(const KnobExpectation &e, const std::string &id)
{
	std::vector<const KnobBreak *> out;
	for (const auto &b : e.breaks)
		if (std::regex_search(id, b.re))
			out.push_back(&b);
	return out;
}

// How one case of a run (a results.json "cases" entry) differs from what
// the knob must do to it; empty when it is exactly as expected.
inline std::string knob_mismatch(const KnobExpectation &e, const nlohmann::json &c)
{
	auto id = c.at("id").get<std::string>();
	auto verdict = c.at("verdict").get<std::string>();
	auto why = [&](const std::string &s) {
		return e.knob + ": " + id + ": " + s + " (" + c.value("message", "") + ")";
	};
	auto b = breaks_for(e, id);
	if (b.empty())
		return verdict == "pass" ? "" : why("must pass, got " + verdict);
	if (verdict != b[0]->verdict)
		return why("must be " + b[0]->verdict + " by " + b[0]->rule + ", got " + verdict);
	if (!b[0]->title.empty() &&
	    c.value("signature", "").find(b[0]->title) == std::string::npos)
		return why("must carry the report '" + b[0]->title + "', got '" +
			   c.value("signature", "") + "'");
	if (!c.contains("failed_step"))
		return why("a " + verdict + " without a failed step");
	auto n = c.at("failed_step").get<size_t>();
	const auto &st = c.at("steps").at(n - 1);
	std::string got = st.at("op").get<std::string>() + "(" + st.value("object", "") + ") [" +
			  st.value("rule", "") + "]";
	std::string want = b[0]->op + "(" + (b[0]->object.empty() ? st.value("object", "") : b[0]->object) +
			   ") [" + b[0]->rule + "]";
	return got == want ? "" : why("must fail at " + want + ", failed at " + got);
}

// Every way a whole run (results.json) differs from the knob's entry: a
// case off its expectation, or a pattern that named no case of the run.
inline std::vector<std::string> knob_run_mismatches(const KnobExpectation &e,
						    const nlohmann::json &results)
{
	std::vector<std::string> out;
	std::vector<int> hits(e.breaks.size());
	for (const auto &c : results.at("cases")) {
		auto m = knob_mismatch(e, c);
		if (!m.empty())
			out.push_back(m);
		for (size_t i = 0; i < e.breaks.size(); i++)
			hits[i] += std::regex_search(c.at("id").get<std::string>(), e.breaks[i].re);
	}
	for (size_t i = 0; i < e.breaks.size(); i++)
		if (!hits[i])
			out.push_back(e.knob + ": '" + e.breaks[i].cases + "' names no case of the run");
	return out;
}

} // namespace luo::test
