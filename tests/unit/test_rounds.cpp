// SPDX-License-Identifier: GPL-2.0-only
//
// Chained kexec rounds: several rounds of cases in one VM, each round's cases
// restored, finished and closed before the next round preserves.
#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <map>
#include <set>

#include "host/run/judge.hpp"
#include "host/run/planner.hpp"
#include "guest_reports.hpp"
#include "host_fixtures.hpp"

using namespace luo;
using namespace luo::test;

namespace {

std::vector<core::Case> vfio_cases(int n)
{
	std::vector<core::Case> out;
	for (int i = 0; i < n; i++)
		out.push_back(vfio_case("v" + std::to_string(i)));
	return out;
}

} // namespace

TEST_CASE("a case chains only when its contract leaves nothing behind", "[unit][planner]")
{
	CHECK(memfd_case("m").chainable());
	CHECK(vfio_case("v").chainable());
	// A refused kexec runs alone and first: never followed by a round.
	CHECK_FALSE(refused_case("r").chainable());
	// A session the case never finishes would ride into the next kexec.
	auto open = memfd_case("o");
	open.steps.pop_back();
	CHECK_FALSE(open.chainable());
	// FINISH refused by the contract: the files stay preserved.
	auto refused = memfd_case("f");
	refused.steps.back().expect = err("EBUSY", "C5");
	CHECK_FALSE(refused.chainable());
	// A session closed before the kexec takes nothing along.
	auto closed = memfd_case("c");
	closed.steps = {step(Op::create, "", "mem"), step(Op::session_create, "s"),
			step(Op::session_close, "s"), step(Op::kexec)};
	CHECK(closed.chainable());
}

TEST_CASE("rounds reuse the VFIO devices, one kexec each", "[unit][planner]")
{
	auto cases = vfio_cases(5);
	auto ptrs = ptrs_of(cases);
	host::PlanLimits lim;
	lim.max_edu = 2;
	auto rounds = host::assign_rounds(ptrs, lim);
	CHECK(rounds == std::vector<int>{0, 0, 1, 1, 2});
	auto b = host::make_batch(ptrs, rounds);
	CHECK(b.boots == 3);
	CHECK(b.plan.edu_devices.size() == 2);

	int kexecs = 0;
	unsigned boot = 0;
	std::map<std::string, std::set<unsigned>> boots_of;
	for (size_t i = 0; i < b.plan.steps.size(); i++) {
		const auto &s = b.plan.steps[i];
		CHECK(s.boot >= boot);
		boot = s.boot;
		kexecs += s.op == Op::kexec;
		if (!s.case_id.empty())
			boots_of[s.case_id].insert(s.boot);
	}
	CHECK(kexecs == 3);
	// Each case lives in its round's boot and the next one.
	CHECK(boots_of["v0"] == std::set<unsigned>{0, 1});
	CHECK(boots_of["v2"] == std::set<unsigned>{1, 2});
	CHECK(boots_of["v4"] == std::set<unsigned>{2, 3});
	std::map<std::string, int> device;
	for (const auto &o : b.plan.objects)
		if (o.kind == ObjectKind::vfio_cdev)
			device[o.name] = o.device;
	CHECK(device["c0.dev"] == 0);
	CHECK(device["c2.dev"] == 0);
	CHECK(device["c3.dev"] == 1);
	CHECK(device["c4.dev"] == 0);
}

TEST_CASE("a round's fds are closed before the next round opens its devices", "[unit][planner]")
{
	auto cases = vfio_cases(2);
	auto ptrs = ptrs_of(cases);
	auto b = host::make_batch(ptrs, {0, 1});
	int close_dev = -1, close_ioas = -1, close_session = -1, create_next = -1, finish = -1;
	for (size_t i = 0; i < b.plan.steps.size(); i++) {
		const auto &s = b.plan.steps[i];
		if (s.op == Op::finish && s.case_id == "v0")
			finish = i;
		if (s.op == Op::create && s.case_id == "v1" && s.object == "c1.dev")
			create_next = i;
		if (b.refs[i].teardown && s.case_id == "v0") {
			CHECK(s.boot == 1);
			CHECK(b.refs[i].case_index == 0);
			if (s.object == "c0.dev")
				close_dev = i;
			if (s.object == "c0.ioas")
				close_ioas = i;
			if (s.op == Op::session_close && s.session == "c0-s")
				close_session = i;
		}
	}
	CHECK(finish >= 0);
	CHECK(finish < close_dev);
	CHECK(close_dev < close_ioas); // the dependent first
	CHECK(close_ioas < close_session);
	CHECK(close_session < create_next);
	// The last round is torn down too, in its last boot, before the
	// power-off: nothing is left for the guest's exit to close unjudged.
	int last_teardown = -1;
	for (size_t i = 0; i < b.plan.steps.size(); i++)
		if (b.refs[i].teardown && b.plan.steps[i].case_id == "v1") {
			CHECK(b.plan.steps[i].boot == 2);
			CHECK(b.refs[i].case_index == 1);
			last_teardown = i;
		}
	CHECK(last_teardown == (int)b.plan.steps.size() - 1);
}

TEST_CASE("cases that cannot chain go to the last round", "[unit][planner]")
{
	std::vector<core::Case> cases = vfio_cases(3);
	cases.insert(cases.begin(), refused_case("r"));
	auto ptrs = ptrs_of(cases);
	host::PlanLimits lim;
	lim.max_edu = 2;
	auto rounds = host::assign_rounds(ptrs, lim);
	// v0 v1 | v2, and r fits beside v2.
	CHECK(rounds == std::vector<int>{1, 0, 0, 1});
	auto b = host::make_batch(ptrs, rounds);
	// r's refused kexec runs in boot 1, before anything else of its round.
	bool first = true;
	for (const auto &s : b.plan.steps) {
		if (s.boot != 1 || b.refs[s.id].case_index < 0 || s.case_id == "v0" ||
		    s.case_id == "v1")
			continue;
		if (first)
			CHECK(s.case_id == "r");
		first = false;
		if (s.case_id == "r" && s.op == Op::kexec)
			CHECK(s.boot == 1);
	}
	// v0 v1 v2 fill a round of 3 devices: r gets a round of its own.
	lim.max_edu = 3;
	CHECK(host::assign_rounds(ptrs, lim) == std::vector<int>{1, 0, 0, 0});
}

TEST_CASE("each case of a chain is judged by its own round's kexec", "[unit][judge]")
{
	auto cases = vfio_cases(3);
	auto ptrs = ptrs_of(cases);
	auto b = host::make_batch(ptrs, {0, 1, 2});
	auto out = host::judge_batch(b, guest_reports(b), "");
	for (const auto &r : out.cases)
		CHECK(r.verdict == host::Verdict::pass);
	CHECK_FALSE(out.batch_failed);

	// The second kexec refused: round 0 is already done, round 1 sees its
	// own kexec fail, round 2 never starts its second boot.
	unsigned second = 0;
	int n = 0;
	for (const auto &s : b.plan.steps)
		if (s.op == Op::kexec && n++ == 1)
			second = s.id;
	host::VmResult vm = guest_reports(b, {{second, -EBUSY}});
	std::erase_if(vm.events, [&](const protocol::Event &e) { return e.boot > 1; });
	out = host::judge_batch(b, vm, "");
	CHECK(out.cases[0].verdict == host::Verdict::pass);
	CHECK(out.cases[1].verdict == host::Verdict::violation);
	CHECK(out.cases[1].steps[5].op == Op::kexec);
	CHECK(out.cases[1].failed_step == 5);
	// Its second boot never came: not judged, not a pass.
	CHECK(out.cases[2].verdict == host::Verdict::incomplete);
	CHECK(out.batch_failed);
}

TEST_CASE("a failed close between rounds fails the case it closes, not the next round's",
	  "[unit][judge]")
{
	auto cases = vfio_cases(2);
	auto ptrs = ptrs_of(cases);
	auto b = host::make_batch(ptrs, {0, 1});
	unsigned id = 0;
	for (size_t i = 0; i < b.refs.size(); i++)
		if (b.refs[i].teardown && b.plan.steps[i].op == Op::session_close &&
		    b.plan.steps[i].case_id == "v0")
			id = i;
	REQUIRE(id > 0);
	auto out = host::judge_batch(b, guest_reports(b, {{id, -EBADF}}), "");
	CHECK(out.cases[0].verdict == host::Verdict::violation);
	CHECK(out.cases[0].message.find("teardown step") != std::string::npos);
	CHECK(out.cases[0].message.find("session-close") != std::string::npos);
	CHECK(out.cases[1].verdict == host::Verdict::pass);
}

TEST_CASE("VMs get whole rounds, tails last, one per worker", "[unit][planner]")
{
	auto cases = vfio_cases(20);
	cases.push_back(refused_case("r"));
	auto ptrs = ptrs_of(cases);
	host::PlanLimits lim;
	lim.max_edu = 2;
	lim.max_rounds = 4;
	// 10 chained rounds and 1 tail round: 11 rounds, at most 4 per VM.
	auto vms = host::split_cases(ptrs, lim, 2);
	REQUIRE(vms.size() == 3);
	std::set<const core::Case *> seen;
	int tails = 0;
	for (const auto &vm : vms) {
		auto rounds = host::assign_rounds(vm, lim);
		int most = *std::max_element(rounds.begin(), rounds.end());
		CHECK(most < lim.max_rounds);
		for (size_t k = 0; k < vm.size(); k++) {
			seen.insert(vm[k]);
			if (!vm[k]->chainable()) {
				tails++;
				CHECK(rounds[k] == most);
			}
		}
	}
	CHECK(tails == 1);
	CHECK(seen.size() == cases.size());
	// Few rounds still give every worker a VM.
	std::vector<const core::Case *> four(ptrs.begin(), ptrs.begin() + 4);
	CHECK(host::split_cases(four, lim, 2).size() == 2);
	lim.max_rounds = 1;
	CHECK(host::split_cases(ptrs, lim, 2).size() == 11);
}
