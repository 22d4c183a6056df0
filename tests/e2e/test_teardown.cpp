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
	auto cfg = e2e::config_for({"scenarios/deps/kvm-gmem.json", "scenarios/smoke/memfd.json"},
				   "release-deadlock");
	const std::string guilty = "kvm-gmem/p:vm,gmem/r:vm,gmem";
	// Preserves the VM but never retrieves it: no restored VM to release.
	const std::string unretrieved = "kvm-gmem/p:vm,gmem/r:-";
	cfg.cases = {guilty, unretrieved, "smoke-memfd/*"};
	cfg.fault = "release-deadlock";
	cfg.jobs = 1;
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 3);
	for (const auto &c : rep.cases)
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);

	const auto &g = result_of(rep, guilty);
	INFO(g.message);
	// The hung-task detector reports the close and panics: a crash.
	CHECK(g.verdict == host::Verdict::crash);
	CHECK_THAT(g.message, ContainsSubstring("never returned") &&
				      ContainsSubstring("INFO: task hung in "));
	REQUIRE(g.failed_step >= 0);
	const auto &st = g.steps[g.failed_step];
	CHECK(st.teardown);
	CHECK_FALSE(st.executed);
	// The VM's own close, or its session's while LUO still holds the file.
	CHECK((st.object == "vm" || st.op == protocol::Op::session_close));

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
