// SPDX-License-Identifier: GPL-2.0-only
//
// Each fault knob of the patched kernel is a realistic handler bug; the suite
// must catch every one of them as a contract violation naming the step.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "e2e_support.hpp"

using namespace luo;

TEST_CASE("every fault knob is caught as a contract violation of its own rule", "[e2e][knobs]")
{
	// Each knob breaks one rule of the contract; a violation of any other
	// rule would mean the suite caught it by accident, or not at all.
	auto [knob, rule] = GENERATE(table<std::string, std::string>({
		{"preserve-lookup", "C1"},
		{"finish-ignores-deps", "C4"},
		{"unbound-restore", "C3"},
		{"drop-contents", "C3"},
		{"freeze-ignores-deps", "C2"},
		{"internal-is-explicit", "C4"},
	}));
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
		CHECK(s.expect.rule == rule);
	}
	for (const auto &c : rep.cases) {
		INFO(knob << ": " << c.id << ": " << c.message);
		CHECK((c.verdict == host::Verdict::pass || c.verdict == host::Verdict::violation));
	}
	INFO("knob " << knob);
	CHECK(violations > 0);
	CHECK(rep.exit_code == 1);
}
