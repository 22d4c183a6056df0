// SPDX-License-Identifier: GPL-2.0-only
//
// Each fault knob of the patched kernel is a realistic handler bug; the suite
// must catch it in exactly the cases it can reach, at the step and by the
// rule tests/data/knobs.json names, and in no other case.  A rig that caught
// one case of a knob, or blamed a case the knob cannot touch, fails here.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "e2e_support.hpp"

using namespace luo;

TEST_CASE("every fault knob breaks exactly its cases by its rule", "[e2e][knobs]")
{
	auto knob = GENERATE(as<std::string>{}, "preserve-lookup", "finish-ignores-deps",
			     "unbound-restore", "drop-contents", "freeze-ignores-deps",
			     "internal-is-explicit");
	const auto &e = test::knob_expectation(knob);
	auto rep = host::run_suite(e2e::knob_config(e, "knob-" + knob));
	for (const auto &m : e2e::knob_mismatches(e, rep))
		FAIL_CHECK(m);
	// The report names the failed step and both outcomes.
	for (const auto &c : rep.cases) {
		if (c.verdict != host::Verdict::violation)
			continue;
		INFO(knob << ": " << c.id << ": " << c.message);
		CHECK(c.message.find("expected") != std::string::npos);
		CHECK(c.message.find("observed") != std::string::npos);
	}
	CHECK(rep.exit_code == 1);
}
