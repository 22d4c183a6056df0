// SPDX-License-Identifier: GPL-2.0-only
//
// Two bugs in how a handler names its dependency at freeze: a token cut to
// 32 bits, and "the session's VM / iommufd" instead of its own.  Sessions
// with one object of a kind and small tokens cannot see either; two-of-a-kind
// (two VMs, two iommufds, 64-bit tokens) must catch both, at the step where
// the second dependent comes back wrong.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "e2e_support.hpp"

using namespace luo;

TEST_CASE("token-u32 and first-of-kind are missed by one of a kind, caught by two",
	  "[e2e][knobs][query]")
{
	auto knob = GENERATE(std::string("token-u32"), std::string("first-of-kind"));

	auto one = e2e::config_for({"scenarios/deps/kvm-gmem.json", "scenarios/deps/iommufd-vfio.json"},
				   "query-one-" + knob);
	one.fault = knob;
	auto missed = host::run_suite(one);
	for (const auto &c : missed.cases) {
		INFO(knob << " (one of a kind): " << c.id << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
	}
	CHECK(missed.exit_code == 0);

	auto two = e2e::config_for({"scenarios/deps/two-of-a-kind.json"}, "query-two-" + knob);
	two.fault = knob;
	auto caught = host::run_suite(two);
	int violations = 0;
	for (const auto &c : caught.cases) {
		INFO(knob << " (two of a kind): " << c.id << ": " << host::to_string(c.verdict) << ": "
			  << c.message);
		CHECK((c.verdict == host::Verdict::pass || c.verdict == host::Verdict::violation));
		if (c.verdict != host::Verdict::violation)
			continue;
		violations++;
		REQUIRE(c.failed_step >= 0);
		const auto &s = c.steps[c.failed_step];
		// A dependent of the pair preserved second (first-of-kind), or
		// of a 64-bit token (token-u32), is restored unbound or bound to
		// the other pair's dependency: its retrieve or its check fails.
		CHECK((s.op == protocol::Op::retrieve || s.op == protocol::Op::verify));
		CHECK((s.object.find("gmem") != std::string::npos ||
		       s.object.find("vfio") != std::string::npos));
		CHECK(s.expect.rule == "C3");
	}
	CHECK(violations > 0);
	CHECK(caught.exit_code == 1);
}
