// SPDX-License-Identifier: GPL-2.0-only
//
// The default suite on the default kernel: what `ci/suite` runs.  Full size
// (ci/full): all of it.  Small (ci/test): its first of four shards, every
// fourth case of the whole list, so every scenario of four cases or more,
// all-four's 1,560 among them, still boots, kexecs and is judged through the
// same planner, rounds and reports.
#include <catch2/catch_test_macros.hpp>
#include <map>
#include <set>

#include "e2e_support.hpp"

using namespace luo;

TEST_CASE("the default suite passes on the default kernel", "[e2e][suite][sized]")
{
	auto cfg = e2e::config_for({"scenarios"}, "default-suite");
	if (!e2e::full_size())
		cfg.shard = "1/4";
	auto rep = host::run_suite(cfg);

	CHECK(rep.cases.size() >= (e2e::full_size() ? 1000u : 250u));
	std::set<std::string> scenarios;
	for (const auto &c : rep.cases)
		scenarios.insert(c.scenario);
	CHECK(scenarios.count("all-four"));
	CHECK(scenarios.size() >= 15);
	std::map<std::string, int> failed;
	for (const auto &c : rep.cases)
		if (c.verdict != host::Verdict::pass) {
			failed[c.scenario]++;
			UNSCOPED_INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		}
	CHECK(failed.empty());
	CHECK(rep.exit_code == 0);
	// Every case's steps were reported by a guest, not inferred.
	for (const auto &c : rep.cases)
		for (const auto &s : c.steps)
			REQUIRE(s.executed);
}
