// SPDX-License-Identifier: GPL-2.0-only
//
// Schedules in real VMs: the same cases give the same outcomes however their
// sessions are served, and a kernel that answers one session from another's
// state is caught once sessions are in flight together.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <map>

#include "e2e_support.hpp"

using namespace luo;

namespace {

host::RunConfig scheduled(const std::string &tag, const std::string &schedule)
{
	auto cfg = e2e::config_for({"scenarios/deps/kvm-gmem-memfd.json"}, tag);
	cfg.schedules = {schedule};
	return cfg;
}

} // namespace

TEST_CASE("every schedule gives every case the same outcomes", "[e2e][schedule]")
{
	auto base = host::run_suite(scheduled("schedule-sequential", "sequential"));
	std::map<std::string, const host::CaseResult *> by_id;
	for (const auto &c : base.cases) {
		CHECK(c.verdict == host::Verdict::pass);
		CHECK(c.schedule == "sequential");
		by_id[c.id] = &c;
	}
	for (std::string s : {"reversed", "round-robin", "random:5", "threads:4"}) {
		auto rep = host::run_suite(scheduled("schedule-" + s, s));
		REQUIRE(rep.cases.size() == base.cases.size());
		for (const auto &c : rep.cases) {
			INFO(s << ": " << c.id << ": " << c.message);
			CHECK(c.verdict == host::Verdict::pass);
			CHECK(c.schedule == s);
			const auto &o = *by_id.at(c.id);
			REQUIRE(c.steps.size() == o.steps.size());
			for (size_t i = 0; i < c.steps.size(); i++)
				CHECK(c.steps[i].result == o.steps[i].result);
		}
	}
}

TEST_CASE("a file handed to another session is missed served one by one, caught interleaved",
	  "[e2e][schedule][knobs]")
{
	// Round-robin is the knob's entry in tests/data/knobs.json: which
	// sessions are in flight together is fixed, so the broken cases are
	// too.  Served one by one, nothing can break; a seeded random order
	// and threads break a set of their own, only counted here.
	auto [schedule, caught] = GENERATE(table<std::string, bool>({
		{"round-robin", true},
		{"sequential", false},
		{"reversed", false},
		{"random:1", true},
		{"threads:4", true},
	}));
	const auto &e = test::knob_expectation("retrieve-cache");
	REQUIRE(e.schedules == std::vector<std::string>{"round-robin"});
	auto cfg = e2e::knob_config(e, "retrieve-cache-" + schedule);
	cfg.schedules = {schedule};
	auto rep = host::run_suite(cfg);
	if (schedule == "round-robin") {
		for (const auto &m : e2e::knob_mismatches(e, rep))
			FAIL_CHECK(m);
	}
	int violations = 0;
	for (const auto &c : rep.cases) {
		INFO(schedule << ": " << c.id << ": " << c.message);
		CHECK((c.verdict == host::Verdict::pass || c.verdict == host::Verdict::violation));
		if (c.verdict != host::Verdict::violation)
			continue;
		violations++;
		// The wrong file fails its check (C3), or FINISH counts the
		// case's own file as never retrieved (C4).
		auto rule = c.steps[c.failed_step].expect.rule;
		CHECK((rule == "C3" || rule == "C4"));
	}
	INFO(schedule << ": " << violations << " violations");
	CHECK((violations > 0) == caught);
	CHECK(rep.exit_code == (caught ? 1 : 0));
}
