// SPDX-License-Identifier: GPL-2.0-only
//
// --inject fail-nth: what the plan and the events carry, how the judge reads
// an error path the guest found broken, what the summary says, and the
// options it refuses before anything is built.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cerrno>

#include "guest_reports.hpp"
#include "host/run/inject_report.hpp"
#include "host/run/judge.hpp"
#include "host/run/run.hpp"
#include "host_fixtures.hpp"
#include "results_fixtures.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;

namespace {

protocol::Event &event_of(host::VmResult &vm, unsigned id)
{
	for (auto &ev : vm.events)
		if (ev.type == protocol::EventType::step && ev.step == id)
			return ev;
	FAIL("no event for step " << id);
	return vm.events.front();
}

const host::StepResult &result_of(const host::CaseResult &c, protocol::Op op)
{
	for (const auto &s : c.steps)
		if (s.op == op && !s.teardown)
			return s;
	FAIL("no such step result");
	return c.steps.front();
}

} // namespace

TEST_CASE("the plan carries fail-nth to every boot, and events their counts back",
	  "[unit][inject]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	protocol::Plan plan = batch.plan;
	plan.fail_nth = true;
	for (std::uint32_t boot : {0u, 1u})
		CHECK(protocol::plan_from_boot_lines(protocol::plan_to_boot_lines(plan), boot).fail_nth);
	CHECK_FALSE(protocol::plan_from_json(protocol::plan_to_json(batch.plan)).fail_nth);

	protocol::Event ev;
	ev.type = protocol::EventType::step;
	ev.step = 3;
	ev.op = protocol::Op::preserve;
	ev.result = -EEXIST;
	ev.err = "EEXIST";
	ev.injected = 7;
	ev.absorbed = 8;
	ev.inject_broke = "fail-nth 7: ENOMEM, but 1 file(s) more are open";
	auto back = protocol::event_from_json(protocol::event_to_json(ev));
	CHECK(back.injected == 7);
	CHECK(back.absorbed == 8);
	CHECK(back.inject_broke == ev.inject_broke);

	protocol::Event kexec;
	kexec.type = protocol::EventType::injected;
	kexec.step = 9;
	kexec.injected = 4;
	auto k = protocol::event_from_json(protocol::event_to_json(kexec));
	CHECK(k.type == protocol::EventType::injected);
	CHECK(k.step == 9);
	CHECK(k.injected == 4);
}

TEST_CASE("an error path that changed state fails its step even when the retry was right",
	  "[unit][inject][judge]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	auto vm = guest_reports(batch);
	auto retrieve = step_id(batch, "a", protocol::Op::retrieve);
	event_of(vm, retrieve).injected = 3;
	auto clean = host::judge_batch(batch, vm, "");
	CHECK(clean.cases[0].verdict == host::Verdict::pass);
	CHECK(result_of(clean.cases[0], protocol::Op::retrieve).injected == 3);

	event_of(vm, retrieve).inject_broke =
		"fail-nth 3: ENOMEM, but 1 file(s) more are open than before the call";
	auto out = host::judge_batch(batch, vm, "");
	const auto &c = out.cases[0];
	CHECK(c.verdict == host::Verdict::violation);
	CHECK_THAT(c.message, ContainsSubstring("retrieve mem in s") &&
				      ContainsSubstring("observed fail-nth 3: ENOMEM, but 1 file(s)"));
}

TEST_CASE("the failed freezes of a kexec count for the cases that share it", "[unit][inject][judge]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	auto vm = guest_reports(batch);
	unsigned kexec = 0;
	for (const auto &s : batch.plan.steps)
		if (s.op == protocol::Op::kexec)
			kexec = s.id;
	// The kernel that tried says how far it got; the next one sends the
	// kexec's own event.
	for (unsigned n : {1u, 2u, 5u}) {
		protocol::Event ev;
		ev.type = protocol::EventType::injected;
		ev.step = kexec;
		ev.injected = n;
		vm.events.insert(vm.events.begin() + 1, ev);
	}
	auto out = host::judge_batch(batch, vm, "");
	for (const auto &c : out.cases) {
		CHECK(c.verdict == host::Verdict::pass);
		CHECK(result_of(c, protocol::Op::kexec).injected == 5);
	}
	auto totals = host::inject_totals(out.cases);
	CHECK(totals["kexec"].steps == 2);
	CHECK(totals["kexec"].most == 5);
}

TEST_CASE("the summary counts error paths per op, and says when none was reached",
	  "[unit][inject][report]")
{
	host::CaseResult c;
	c.steps = {ran_step(protocol::Op::create, 0), ran_step(protocol::Op::session_create, 2),
		   ran_step(protocol::Op::preserve, 11), ran_step(protocol::Op::preserve, 4, 5),
		   ran_step(protocol::Op::verify, 0), ran_step(protocol::Op::finish, 0)};
	auto line = host::inject_summary({c});
	CHECK_THAT(line, ContainsSubstring("fail-nth: 17 error paths reached;"));
	CHECK_THAT(line, ContainsSubstring("preserve 15 in 2 steps (at most 11 in one; 5 more that the "
					   "call got over)"));
	CHECK_THAT(line, ContainsSubstring("finish 0 in 1 steps (at most 0 in one; 1 steps reached none)"));
	// create and verify are not armed: no count, not "none reached".
	CHECK_THAT(line, !ContainsSubstring("create 0") && !ContainsSubstring("verify"));

	host::CaseResult idle;
	idle.steps = {ran_step(protocol::Op::preserve, 0)};
	CHECK(host::inject_summary({idle}).empty());

	host::RunSummary s;
	s.inject = "fail-nth";
	CHECK_THAT(host::summary_table({idle}, s),
		   ContainsSubstring("fail-nth: no call reached an injection point"));
}

TEST_CASE("an --inject mode is refused before any build unless it can be honoured", "[unit][inject][cli]")
{
	host::RunConfig cfg;
	CHECK_NOTHROW(host::check_inject_options(cfg));
	cfg.inject = "fail-random";
	CHECK_THAT(setup_error_of([&] { host::check_inject_options(cfg); }),
		   ContainsSubstring("--inject 'fail-random': the modes are fail-nth and race"));
	cfg.inject = "fail-nth";
	CHECK_THAT(setup_error_of([&] { host::check_inject_options(cfg); }),
		   ContainsSubstring("add --kernel-flavour debug"));
	cfg.kernel.kernel = "/boot/vmlinuz-of-my-own";
	CHECK_NOTHROW(host::check_inject_options(cfg));
	cfg.kernel.kernel.reset();
	cfg.kernel.flavour = "debug";
	CHECK_NOTHROW(host::check_inject_options(cfg));
	cfg.selftests_only = true;
	CHECK_THAT(setup_error_of([&] { host::check_inject_options(cfg); }),
		   ContainsSubstring("run the selftests without --inject"));

	std::string err;
	auto smoke = std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/smoke";
	CHECK(run_luo_rig({"run", "--inject", "fail-nth", smoke}, err) == 2);
	CHECK_THAT(err, ContainsSubstring("add --kernel-flavour debug"));
}

TEST_CASE("a fail-nth batch whose calls reached no injection point is refused",
	  "[unit][inject][report]")
{
	host::CaseResult idle;
	idle.steps = {ran_step(protocol::Op::create, 0), ran_step(protocol::Op::session_create, 0),
		      ran_step(protocol::Op::preserve, 0), ran_step(protocol::Op::finish, 0)};
	CHECK_THAT(host::nothing_injected({idle}),
		   ContainsSubstring("armed 3 steps, and not one call reached an injection point"));

	// One path reached anywhere in the batch, or one failure a call got
	// over, shows that injection works.
	host::CaseResult tried = idle;
	tried.steps[2].injected = 1;
	CHECK(host::nothing_injected({idle, tried}).empty());
	host::CaseResult absorbed = idle;
	absorbed.steps[1].absorbed = 2;
	CHECK(host::nothing_injected({idle, absorbed}).empty());

	// No armed step ran (the VM died first): nothing to say here.
	host::CaseResult early;
	early.steps = {ran_step(protocol::Op::create, 0)};
	early.steps.push_back(ran_step(protocol::Op::preserve, 0));
	early.steps.back().executed = false;
	CHECK(host::nothing_injected({early}).empty());
}

TEST_CASE("a rig fault in the middle of a walk is a setup failure, not the step's errno",
	  "[unit][inject][judge]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	// The guest stops where it could not arm fail-nth: no event for that
	// step, none after it, then its fatal.
	unsigned stuck = step_id(batch, "b", protocol::Op::preserve);
	auto vm = guest_reports(batch, {}, stuck);
	protocol::Event fatal;
	fatal.type = protocol::EventType::fatal;
	fatal.err = "EIO";
	fatal.detail = "fail-nth 3: read back /proc/thread-self/fail-nth: empty";
	vm.events.push_back(fatal);
	auto out = host::judge_batch(batch, vm, "luo-vmm: boot 0\n");
	CHECK(out.cause == host::BatchOutcome::Cause::guest_fatal);
	for (const auto &c : out.cases) {
		CHECK(c.verdict == host::Verdict::setup);
		CHECK_THAT(c.message, ContainsSubstring("the mock VMM gave up in boot 0: fail-nth 3"));
	}
	CHECK(host::exit_code_for(out.cases) == host::kExitSetup);
}
