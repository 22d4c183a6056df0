// SPDX-License-Identifier: GPL-2.0-only
//
// What a case still holds after its last step is closed by steps of its own:
// the planner emits them, and the judge gives their outcome (or their never
// returning) to that case, not to the next round's or to nobody.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cerrno>

#include "guest_reports.hpp"
#include "host/run/judge.hpp"
#include "host/run/taint.hpp"
#include "host_fixtures.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;

namespace {

// The first teardown step of case `id` with this op.
unsigned teardown_of(const host::Batch &b, const std::string &id, Op op)
{
	for (size_t i = 0; i < b.refs.size(); i++)
		if (b.refs[i].teardown && b.plan.steps[i].case_id == id && b.plan.steps[i].op == op)
			return i;
	FAIL("no teardown step " << protocol::to_string(op) << " of " << id);
	return 0;
}

// Round r: a VFIO device on its iommufd, preserved in order.
std::vector<core::Case> two_rounds()
{
	return {vfio_case("v0"), vfio_case("v1")};
}

protocol::Event taint_event(std::uint32_t boot, std::uint64_t mask)
{
	protocol::Event ev;
	ev.type = protocol::EventType::taint;
	ev.boot = boot;
	ev.taint = mask;
	return ev;
}

} // namespace

TEST_CASE("every case ends with teardown steps of its own, in its last boot", "[unit][planner]")
{
	auto cases = two_rounds();
	auto ptrs = ptrs_of(cases);
	auto b = host::make_batch(ptrs, {0, 1});
	for (int k = 0; k < 2; k++) {
		std::string id = k ? "v1" : "v0";
		std::vector<std::string> closed;
		for (size_t i = 0; i < b.refs.size(); i++) {
			if (!b.refs[i].teardown || b.refs[i].case_index != k)
				continue;
			const auto &st = b.plan.steps[i];
			CHECK(st.case_id == id);
			CHECK(st.boot == (unsigned)k + 1);
			CHECK(st.thread == 0);
			CHECK(b.refs[i].case_step == -1);
			closed.push_back(st.op == Op::close_object ? "obj:" + b.refs[i].object
								   : "ses:" + b.refs[i].session);
		}
		// Dependents first, then the session retrieved after the kexec.
		CHECK(closed == std::vector<std::string>{"obj:dev", "obj:ioas", "ses:s"});
	}
	// The last boot ends with the last case's teardown: the guest's exit
	// has nothing of a case's left to close.
	CHECK(b.refs.back().teardown);
	CHECK(b.refs.back().case_index == 1);
}

TEST_CASE("a case that never kexecs is torn down in its only boot", "[unit][planner]")
{
	core::Case c = refused_case("r");
	c.steps.resize(5); // preserve without the dependency, kexec refused
	auto b = host::make_batch({&c});
	REQUIRE(b.boots == 0);
	REQUIRE(b.refs.back().teardown);
	CHECK(b.plan.steps.back().op == Op::session_close);
	CHECK(b.plan.steps.back().session == "c0-s");
	CHECK(b.plan.steps.back().boot == 0);
}

TEST_CASE("a teardown that never returns fails its own case, not the next round's",
	  "[unit][judge]")
{
	auto cases = two_rounds();
	auto ptrs = ptrs_of(cases);
	auto b = host::make_batch(ptrs, {0, 1});
	unsigned stuck = teardown_of(b, "v0", Op::close_object);
	auto vm = guest_reports(b, {}, stuck);
	vm.status = host::VmResult::Status::hang;
	vm.why = "no progress for 120 s (limit 120 s)";

	auto out = host::judge_batch(b, vm, "");
	CHECK(out.cases[0].verdict == host::Verdict::hang);
	CHECK_THAT(out.cases[0].message, ContainsSubstring("teardown step 12 close-object dev "
							   "never returned") &&
						 ContainsSubstring("no progress"));
	CHECK(out.cases[0].failed_step == 11);
	CHECK(out.cases[0].steps[11].teardown);
	CHECK(out.cases[1].verdict == host::Verdict::incomplete);
	CHECK_THAT(out.cases[1].message, ContainsSubstring("held up by the teardown of v0"));
	CHECK(out.batch_failed);

	// With the kernel's hung-task report: the case's crash.
	out = host::judge_batch(b, vm, "[  150.1] INFO: task init:1 blocked for more than 20 seconds.\n");
	CHECK(out.cases[0].verdict == host::Verdict::crash);
	CHECK_THAT(out.cases[0].message, ContainsSubstring("teardown step 12") &&
						 ContainsSubstring("INFO: task hung"));
	CHECK(out.cases[1].verdict == host::Verdict::incomplete);
}

TEST_CASE("a teardown close that fails is a failure of its case", "[unit][judge]")
{
	auto a = memfd_case("a");
	auto b = host::make_batch({&a});
	unsigned id = teardown_of(b, "a", Op::close_object);
	auto out = host::judge_batch(b, guest_reports(b, {{id, -EIO}}), "");
	CHECK(out.cases[0].verdict == host::Verdict::violation);
	CHECK_THAT(out.cases[0].message, ContainsSubstring("teardown step 9 close-object mem") &&
						 ContainsSubstring("observed EIO"));
	// The report shows the step as the case's ninth, marked teardown.
	REQUIRE(out.cases[0].steps.size() == 10);
	CHECK(out.cases[0].steps[8].teardown);
	CHECK(out.cases[0].steps[9].op == Op::session_close);
}

TEST_CASE("every step ran and the VM hung after them: a hang of the batch, not a pass",
	  "[unit][judge]")
{
	auto a = memfd_case("a"), c = memfd_case("c");
	auto b = host::make_batch({&a, &c});
	auto vm = guest_reports(b);
	vm.status = host::VmResult::Status::hang;
	vm.why = "the guest reported done, then the VM did not power off within 30 s";
	auto out = host::judge_batch(b, vm, "");
	for (const auto &r : out.cases) {
		CHECK(r.verdict == host::Verdict::hang);
		CHECK_THAT(r.message, ContainsSubstring("every step ran") &&
					      ContainsSubstring("did not power off"));
	}
	CHECK(out.batch_failed);

	// A round that finished before a later one hung passed on its own.
	auto cases = two_rounds();
	auto ptrs = ptrs_of(cases);
	auto chain = host::make_batch(ptrs, {0, 1});
	vm = guest_reports(chain, {}, teardown_of(chain, "v1", Op::close_object));
	vm.status = host::VmResult::Status::hang;
	out = host::judge_batch(chain, vm, "");
	CHECK(out.cases[0].verdict == host::Verdict::pass);
	CHECK(out.cases[1].verdict == host::Verdict::hang);
}

TEST_CASE("taint: the kernel's letters, and a taint with no report is a crash", "[unit][judge]")
{
	CHECK(host::taint_letters(0) == "");
	CHECK(host::taint_letters(1u << 9) == "W");
	CHECK(host::taint_letters((1u << 7) | (1u << 9)) == "DW");
	CHECK(host::taint_letters(1u << 0) == "P");
	CHECK(host::taint_letters((1u << 14) | (1u << 19)) == "LJ");
	CHECK(host::taint_letters(1ull << 40) == "?40");

	auto a = memfd_case("a");
	auto b = host::make_batch({&a});
	auto vm = guest_reports(b);
	vm.events.push_back(taint_event(0, 0));
	vm.events.push_back(taint_event(1, 1u << 9));
	auto out = host::judge_batch(b, vm, "");
	CHECK(out.cases[0].verdict == host::Verdict::crash);
	CHECK_THAT(out.cases[0].message, ContainsSubstring("kernel crash \"kernel tainted W\": kernel tainted W in boot 1"));

	// The WARNING that tainted it is the title, not the taint.
	out = host::judge_batch(b, vm, "WARNING: CPU: 0 PID: 1 at mm/x.c:1 f+0x1/0x2\n");
	CHECK_THAT(out.cases[0].message, ContainsSubstring("kernel crash \"WARNING"));

	// Clean boots say nothing.
	vm.events.back().taint = 0;
	CHECK(host::judge_batch(b, vm, "").cases[0].verdict == host::Verdict::pass);
}

TEST_CASE("a leak scan that could not run is a setup error, never a pass", "[unit][judge]")
{
	auto a = memfd_case("a");
	auto b = host::make_batch({&a});
	auto vm = guest_reports(b);
	protocol::Event ev;
	ev.type = protocol::EventType::kmemleak;
	ev.boot = 1;
	ev.err = "ENOENT";
	ev.detail = "/sys/kernel/debug/kmemleak is missing";
	vm.events.push_back(ev);
	auto out = host::judge_batch(b, vm, "");
	CHECK(out.cases[0].verdict == host::Verdict::setup);
	CHECK_THAT(out.cases[0].message, ContainsSubstring("no leak scan in boot 1: ENOENT"));
}
