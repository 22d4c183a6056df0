// SPDX-License-Identifier: GPL-2.0-only
//
// Shared set-up of the end-to-end tests: they boot real VMs on the default
// kernel (built once, then cached) and look at what the guest reported.
#pragma once

#include <catch2/catch_test_macros.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../knob_expectations.hpp"
#include "host/util/paths.hpp"
#include "host/run/contracts.hpp"
#include "host/run/run.hpp"
#include "host/util/errors.hpp"
#include "protocol/plan.hpp"

namespace luo::e2e {

// The slowest tests (tagged [sized]) run a small, telling part of their work
// under ci/test, which must fit a CI job, and the whole of it under ci/full,
// which sets LUO_RIG_E2E_FULL=1.  Each says what its small size keeps.
inline bool full_size()
{
	const char *v = std::getenv("LUO_RIG_E2E_FULL");
	return v && std::string(v) == "1";
}

inline host::RunConfig config_for(std::vector<std::string> scenarios, const std::string &tag)
{
	host::RunConfig cfg;
	for (auto &s : scenarios)
		cfg.scenarios.push_back((host::source_root() / s).string());
	cfg.out_dir = std::filesystem::path(LUO_RIG_BINARY_DIR) / "e2e-runs" / tag;
	std::filesystem::remove_all(cfg.out_dir);
	cfg.quiet = true;
	cfg.jobs = 2;
	return cfg;
}

// A run of one fault knob as tests/data/knobs.json has it: its scenarios,
// the cases it selects and the schedules that expose it.
inline host::RunConfig knob_config(const test::KnobExpectation &e, const std::string &tag)
{
	auto cfg = config_for(e.scenarios, tag);
	cfg.fault = e.knob;
	cfg.cases = e.select;
	if (!e.schedules.empty())
		cfg.schedules = e.schedules;
	if (!e.contract.empty())
		cfg.contract = e.contract;
	if (!e.flavour.empty())
		cfg.kernel.flavour = e.flavour;
	cfg.inject = e.inject;
	return cfg;
}

// Every way a finished knob run differs from its entry, judged from the
// results.json a CI job or a developer reads.
inline std::vector<std::string> knob_mismatches(const test::KnobExpectation &e,
						const host::RunReport &rep)
{
	auto results = nlohmann::json::parse(
		std::ifstream(std::filesystem::path(rep.summary.run_dir) / "results.json"));
	return test::knob_run_mismatches(e, results);
}

// A knob's run as tests/data/knobs.json has it, held to its entry both
// ways: exactly its cases fail, so, and the run says so with exit 1.
inline void check_knob_run(const std::string &knob, const std::string &tag)
{
	const auto &e = test::knob_expectation(knob);
	auto rep = host::run_suite(knob_config(e, tag));
	CHECK(rep.summary.contract ==
	      (e.contract.empty() ? "agreed" : host::resolve_contract(e.contract).name));
	for (const auto &m : knob_mismatches(e, rep))
		FAIL_CHECK(m);
	CHECK(rep.exit_code == 1);
}

// A run in which every one of its `n` cases passed.
inline void check_all_pass(const host::RunReport &rep, std::size_t n)
{
	REQUIRE(rep.cases.size() == n);
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
	}
	CHECK(rep.exit_code == 0);
}

// A suite misses the knob in cfg.fault when it judges every case alike with
// and without it: the same verdict, failing at the same step with the same
// errno.  Whether the suite passes on that kernel is not the question here;
// the run with the knob is returned for the caller to ask.
inline host::RunReport check_knob_unseen(const host::RunConfig &cfg, std::size_t n)
{
	REQUIRE_FALSE(cfg.fault.empty());
	auto clean = cfg;
	clean.fault.clear();
	clean.out_dir += "-without";
	std::filesystem::remove_all(clean.out_dir);
	const auto with = host::run_suite(cfg), without = host::run_suite(clean);
	REQUIRE(with.cases.size() == n);
	REQUIRE(without.cases.size() == n);
	auto err_at = [](const auto &c) {
		return c.failed_step >= 0 && c.failed_step < static_cast<int>(c.steps.size())
			       ? c.steps[c.failed_step].err
			       : std::string();
	};
	for (std::size_t i = 0; i < n; i++) {
		const auto &a = with.cases[i], &b = without.cases[i];
		INFO(a.id << " with " << cfg.fault << ": " << host::to_string(a.verdict) << ": " << a.message);
		INFO(b.id << " without: " << host::to_string(b.verdict) << ": " << b.message);
		REQUIRE(a.id == b.id);
		CHECK(a.verdict == b.verdict);
		CHECK(a.failed_step == b.failed_step);
		CHECK(err_at(a) == err_at(b));
	}
	CHECK(with.exit_code == without.exit_code);
	return with;
}

// Every event the guests of a run sent, read back from the run directory.
inline std::vector<protocol::Event> events_of(const std::filesystem::path &run_dir)
{
	std::vector<protocol::Event> out;
	for (const auto &e : std::filesystem::recursive_directory_iterator(run_dir)) {
		if (e.path().filename() != "events.log")
			continue;
		std::ifstream in(e.path());
		std::string line;
		while (std::getline(in, line)) {
			if (!line.empty() && line.back() == '\r')
				line.pop_back();
			if (!line.empty())
				out.push_back(protocol::event_from_json(line));
		}
	}
	return out;
}

// A run of one case that the rig had to stop once the VM told it why: the
// case is `setup`, its message says `why`, and the run exits 2.  Never a
// pass, never the kernel's failure.  (Whether a step ran is read from the
// guest's own events by the caller: a `setup` case's step list is empty
// whatever the guest did.)
inline void check_refused_as_setup(const host::RunReport &rep, const std::string &why)
{
	REQUIRE(rep.cases.size() == 1);
	const auto &c = rep.cases[0];
	INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
	CHECK(c.verdict == host::Verdict::setup);
	CHECK(c.message.find(why) != std::string::npos);
	CHECK(rep.exit_code == host::kExitSetup);
}

// A knob of a mode the agreed contract's kernel is not booted in: the
// knob's entry run under agreed on case `id` must stop as setup with the
// kernel's reason, "needs <mode>".  Asked for and not tested, the fault
// would pass every case otherwise.
inline void check_knob_needs_mode(const std::string &knob, const std::string &id,
				  const std::string &mode)
{
	auto e = test::knob_expectation(knob);
	e.contract.clear();
	auto cfg = knob_config(e, "agreed-" + knob);
	cfg.cases = {id};
	check_refused_as_setup(host::run_suite(cfg),
			       "the kernel refused --fault " + knob + ": needs " + mode);
}

} // namespace luo::e2e
