// SPDX-License-Identifier: GPL-2.0-only
//
// Each fault knob of the patched kernel is a realistic handler bug; the suite
// must catch every one of them as a contract violation naming the step.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "e2e_support.hpp"

using namespace luo;

TEST_CASE("every fault knob is caught as a contract violation", "[e2e][knobs]")
{
	auto knob = GENERATE(as<std::string>{}, "preserve-lookup", "finish-ignores-deps",
			     "unbound-restore", "drop-contents", "freeze-ignores-deps",
			     "internal-is-explicit");
	auto cfg = e2e::config_for({"scenarios/deps/kvm-gmem.json", "scenarios/deps/iommufd-vfio.json",
				    "scenarios/faults/retry-kexec.json"},
				   "knob-" + knob);
	cfg.fault = knob;
	auto rep = host::run_suite(cfg);

	int violations = 0;
	for (const auto &c : rep.cases) {
		if (c.verdict != host::Verdict::violation)
			continue;
		violations++;
		INFO(knob << ": " << c.id << ": " << c.message);
		// The report names the step and both outcomes.
		REQUIRE(c.failed_step >= 0);
		const auto &s = c.steps[c.failed_step];
		CHECK(s.executed);
		CHECK_FALSE(s.matches);
		CHECK(c.message.find("expected") != std::string::npos);
		CHECK(c.message.find("observed") != std::string::npos);
	}
	INFO("knob " << knob);
	CHECK(violations > 0);
	CHECK(rep.exit_code == 1);
}
