// SPDX-License-Identifier: GPL-2.0-only
//
// The whole default suite on the default kernel: what `ci/suite` runs.
#include <catch2/catch_test_macros.hpp>
#include <map>

#include "e2e_support.hpp"

using namespace luo;

TEST_CASE("the default suite passes on the default kernel", "[e2e][suite]")
{
	auto cfg = e2e::config_for({"scenarios"}, "default-suite");
	auto rep = host::run_suite(cfg);

	CHECK(rep.cases.size() >= 1000);
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
