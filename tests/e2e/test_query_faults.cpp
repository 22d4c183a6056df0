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
	const auto &e = test::knob_expectation(knob);
	// The entry runs one-of-a-kind scenarios beside two-of-a-kind and
	// lists breaks in two-of-a-kind only: every one-of-a-kind case must
	// pass, and each two-of-a-kind case fail at the step it names.
	bool one_of_a_kind = false;
	for (const auto &s : e.scenarios)
		one_of_a_kind |= s.find("two-of-a-kind") == std::string::npos;
	REQUIRE(one_of_a_kind);
	for (const auto &b : e.breaks)
		CHECK(b.cases.rfind("^two-of-a-kind/", 0) == 0);

	auto rep = host::run_suite(e2e::knob_config(e, "query-" + knob));
	for (const auto &m : e2e::knob_mismatches(e, rep))
		FAIL_CHECK(m);
	CHECK(rep.exit_code == 1);
}
