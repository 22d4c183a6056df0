// SPDX-License-Identifier: GPL-2.0-only
//
// What a case still holds after its last step is closed by steps of its own,
// and judged: with release-deadlock, closing a restored VM never returns,
// and the case that retrieved the VM fails in its teardown.  Before, every
// case passed: the close ran in the guest's exit, unwatched.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "e2e_support.hpp"

using namespace luo;
using Catch::Matchers::ContainsSubstring;

namespace {

const host::CaseResult &result_of(const host::RunReport &rep, const std::string &id)
{
	for (const auto &c : rep.cases)
		if (c.id == id)
			return c;
	FAIL("no result for " << id);
	return rep.cases.front();
}

} // namespace

TEST_CASE("a release that deadlocks fails the case whose VM it is, in its teardown",
	  "[e2e][teardown][knobs]")
{
	const auto &e = test::knob_expectation("release-deadlock");
	const std::string guilty = "kvm-gmem/p:vm,gmem/r:vm,gmem";
	// Preserves the VM but never retrieves it: no restored VM to release.
	const std::string unretrieved = "kvm-gmem/p:vm,gmem/r:-";
	REQUIRE(e.select == std::vector<std::string>{guilty, unretrieved, "smoke-memfd/*"});
	auto rep = host::run_suite(e2e::knob_config(e, "release-deadlock"));
	REQUIRE(rep.cases.size() == 3);
	// The guilty case is a crash with the hung-task report's title, at
	// its VM's close; the others pass (tests/data/knobs.json).
	for (const auto &m : e2e::knob_mismatches(e, rep))
		FAIL_CHECK(m);

	const auto &g = result_of(rep, guilty);
	INFO(g.message);
	// The hung-task detector reports the close and panics: a crash.
	CHECK_THAT(g.message, ContainsSubstring("never returned") &&
				      ContainsSubstring("INFO: task hung in kvm_vm_release"));
	REQUIRE(g.failed_step >= 0);
	const auto &st = g.steps[g.failed_step];
	CHECK(st.teardown);
	CHECK_FALSE(st.executed);

	for (const auto &id : {unretrieved, std::string("smoke-memfd/p:mem/r:mem")}) {
		const auto &c = result_of(rep, id);
		INFO(c.id << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
		// Their teardown ran and was judged too.
		bool teardown_ran = false;
		for (const auto &s : c.steps)
			teardown_ran |= s.teardown && s.executed && s.matches;
		CHECK(teardown_ran);
	}
	CHECK(rep.exit_code == 1);
}
