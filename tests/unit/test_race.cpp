// SPDX-License-Identifier: GPL-2.0-only
//
// --inject race: what the plan and the events carry, how the judge counts a
// kexec's racing said before its reboot, what the summary says, and the
// runs it refuses.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "guest/race_window.hpp"
#include "guest_reports.hpp"
#include "host/run/inject_report.hpp"
#include "host/run/judge.hpp"
#include "host/run/run.hpp"
#include "host_fixtures.hpp"
#include "results_fixtures.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;


TEST_CASE("the plan carries race to every boot, and events the racers' count back",
	  "[unit][race]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	protocol::Plan plan = batch.plan;
	plan.race = true;
	for (std::uint32_t boot : {0u, 1u})
		CHECK(protocol::plan_from_boot_lines(protocol::plan_to_boot_lines(plan), boot).race);
	CHECK_FALSE(protocol::plan_from_json(protocol::plan_to_json(batch.plan)).race);

	protocol::Event ev;
	ev.type = protocol::EventType::injected;
	ev.step = 4;
	ev.raced = 812;
	ev.raced_sessions = 17;
	ev.raced_refused = 5;
	ev.raced_carried = 2;
	ev.raced_devices = 30;
	ev.raced_waiting = 41;
	auto back = protocol::event_from_json(protocol::event_to_json(ev));
	CHECK(back.step == 4);
	CHECK(back.raced == 812);
	CHECK(back.raced_sessions == 17);
	CHECK(back.raced_refused == 5);
	CHECK(back.raced_carried == 2);
	CHECK(back.raced_devices == 30);
	CHECK(back.raced_waiting == 41);
}

TEST_CASE("a kexec's racing, said before its reboot, is counted on the step", "[unit][race][judge]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	auto vm = guest_reports(batch);
	unsigned kexec = 0;
	for (const auto &s : batch.plan.steps)
		if (s.op == protocol::Op::kexec)
			kexec = s.id;
	protocol::Event pre;
	pre.type = protocol::EventType::injected;
	pre.step = kexec;
	pre.raced = 40;
	pre.raced_refused = 2;
	vm.events.insert(vm.events.begin(), pre);
	auto out = host::judge_batch(batch, vm, "");
	REQUIRE(out.cases.size() == 1);
	CHECK(out.cases[0].verdict == host::Verdict::pass);
	bool seen = false;
	for (const auto &s : out.cases[0].steps)
		if (s.op == protocol::Op::kexec) {
			CHECK(s.raced == 40);
			CHECK(s.raced_refused == 2);
			seen = true;
		}
	CHECK(seen);
}

TEST_CASE("a race batch whose racers changed nothing is refused", "[unit][race][report]")
{
	protocol::Plan plan;
	protocol::ObjectSpec gmem;
	gmem.name = "c0.gmem";
	gmem.kind = protocol::ObjectKind::guest_memfd;
	protocol::ObjectSpec mem;
	mem.name = "c1.mem";
	mem.kind = protocol::ObjectKind::memfd;
	plan.objects = {gmem, mem};
	for (auto [c, o] : {std::pair{"c0", "c0.gmem"}, std::pair{"c1", "c1.mem"}}) {
		protocol::Step s;
		s.case_id = c;
		s.object = o;
		s.op = protocol::Op::preserve;
		plan.steps.push_back(s);
	}

	host::CaseResult idle;
	idle.id = "c0";
	idle.steps = {ran_step(protocol::Op::create), ran_step(protocol::Op::preserve),
		      ran_step(protocol::Op::kexec)};
	// The memfd case's preserve had no racer on it: it counts for
	// nothing, only its share of the kexec does.
	host::CaseResult plain = idle;
	plain.id = "c1";
	CHECK_THAT(host::nothing_raced(plan, {idle, plain}),
		   ContainsSubstring("3 steps ran with racers on their guest_memfd and iommufd "
				     "objects, and the racers changed nothing"));
	// The session racer's changes are not the objects': still refused.
	host::CaseResult sessions_only = idle;
	sessions_only.steps[1].raced_sessions = 9;
	CHECK_FALSE(host::nothing_raced(plan, {sessions_only, plain}).empty());
	host::CaseResult busy = idle;
	busy.steps[2].raced = 3;
	busy.steps[1].raced_sessions = 9;
	CHECK(host::nothing_raced(plan, {idle, busy}).empty());

	// Nothing of a kind the racers change: a plain run, nothing to say.
	protocol::Plan memfd_only;
	memfd_only.objects = {mem};
	CHECK(host::nothing_raced(memfd_only, {plain}).empty());

	auto line = host::race_summary({busy});
	CHECK_THAT(line, ContainsSubstring("race: 3 changes by the racers while 2 steps ran"));
	CHECK_THAT(line, ContainsSubstring("kexec 1 steps, 3 changes; preserve 1 steps, 0 changes"));
	CHECK_THAT(line, ContainsSubstring("the session racer made 9 changes"));
	// Refusals are said only when there were some, with their count.
	CHECK_THAT(line, !ContainsSubstring("refused"));
	CHECK_THAT(line, !ContainsSubstring("came back"));
	CHECK_THAT(line, !ContainsSubstring("VFIO"));
	busy.steps[2].raced_refused = 4;
	busy.steps[1].raced_refused = 1;
	CHECK_THAT(host::race_summary({busy}),
		   ContainsSubstring("the kernel refused 5 racer changes"));
	busy.steps.push_back(ran_step(protocol::Op::retrieve));
	busy.steps.back().raced_carried = 3;
	CHECK_THAT(host::race_summary({busy}),
		   ContainsSubstring("3 racer IOAS came back in retrieved iommufds"));
	busy.steps[2].raced_devices = 2;
	CHECK_THAT(host::race_summary({busy}),
		   ContainsSubstring("retrieve 1 steps, 0 changes), 2 of "
				     "them reopened VFIO cdevs"));
	busy.steps[3].raced_waiting = 7;
	CHECK_THAT(host::race_summary({busy}),
		   ContainsSubstring("the session racer made 9 changes; 7 tries to open the group or "
				     "cdev of a VFIO device the kernel held for its retrieve"));

	CHECK_FALSE(host::has_race_target({memfd_case("a")}));
}

TEST_CASE("a race run needs no debug kernel, and never takes the selftests",
	  "[unit][race][cli]")
{
	host::RunConfig cfg;
	cfg.inject = "race";
	CHECK_NOTHROW(host::check_inject_options(cfg));
	cfg.selftests = true;
	CHECK_THAT(setup_error_of([&] { host::check_inject_options(cfg); }),
		   ContainsSubstring("--inject race works on the mock VMM's Live Update calls"));

	std::string err;
	auto smoke = std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/smoke";
	CHECK(run_luo_rig({"run", "--inject", "race", smoke}, err) == 2);
	CHECK_THAT(err, ContainsSubstring("no selected case holds an object the racers change"));
}

// The waiting-device racer opens a device's group while the kernel holds the
// device: only from the kexec on, up to the device's own RETRIEVE_FD.  Past
// it, a group held open would fail the VMM's bind by VFIO's rule, not the
// kernel's; on another thread, the retrieve and bind may run beside it.
TEST_CASE("a device is raced as held from the kexec up to its retrieve, no further",
	  "[unit][race]")
{
	auto c = vfio_case("v");
	auto batch = host::make_batch({&c});
	const auto &plan = batch.plan;
	// The plan names a case's objects after the case.
	auto named = [](const std::string &plan_name, const std::string &object) {
		return object.empty() ? plan_name.empty()
				      : plan_name.size() > object.size() &&
						plan_name.ends_with("." + object);
	};
	auto id_of = [&](protocol::Op op, const std::string &object) {
		for (const auto &s : plan.steps)
			if (s.op == op && named(s.object, object))
				return s;
		FAIL("no " << protocol::to_string(op) << " of " << object);
		return protocol::Step{};
	};
	auto session_retrieve = id_of(protocol::Op::session_retrieve, "");
	auto iommufd_retrieve = id_of(protocol::Op::retrieve, "ioas");
	auto device_retrieve = id_of(protocol::Op::retrieve, "dev");
	auto verify = id_of(protocol::Op::verify, "dev");
	auto preserve = id_of(protocol::Op::preserve, "dev");
	const std::string dev = device_retrieve.object, ioas = iommufd_retrieve.object;

	CHECK(guest::held_for_retrieve(plan, session_retrieve, dev));
	CHECK(guest::held_for_retrieve(plan, iommufd_retrieve, dev));
	CHECK(guest::held_for_retrieve(plan, device_retrieve, dev));
	CHECK_FALSE(guest::held_for_retrieve(plan, verify, dev));
	// Before the kexec the kernel holds nothing for a retrieve.
	CHECK_FALSE(guest::held_for_retrieve(plan, preserve, dev));
	// Past an object's retrieve, it is the VMM's.
	CHECK_FALSE(guest::held_for_retrieve(plan, device_retrieve, ioas));

	auto threaded = session_retrieve;
	threaded.thread = 1;
	CHECK_FALSE(guest::held_for_retrieve(plan, threaded, dev));

	// A VMM that opens the device itself first (the open guard's own
	// check) takes it out of the racer's reach.
	auto opened = plan;
	for (auto &s : opened.steps)
		if (s.id == iommufd_retrieve.id)
			s = protocol::Step{s.id, s.boot, s.case_id, protocol::Op::open_group, "", dev};
	CHECK_FALSE(guest::held_for_retrieve(opened, session_retrieve, dev));
}
