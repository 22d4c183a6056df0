// SPDX-License-Identifier: GPL-2.0-only
//
// A kernel selftest's output, exit status and VM read into one verdict.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "host/selftests/judge.hpp"

using namespace luo::host;
using Catch::Matchers::ContainsSubstring;
using luo::protocol::Event;
using luo::protocol::EventType;

namespace {

Event stage(const std::string &name, std::uint32_t s, int exit_code, const std::string &out,
	    int sig = 0)
{
	Event ev;
	ev.type = EventType::selftest;
	ev.selftest = name;
	ev.stage = s;
	ev.exit_code = exit_code;
	ev.signal = sig;
	ev.detail = out;
	return ev;
}

VmResult vm_with(std::vector<Event> events, VmResult::Status st = VmResult::Status::done)
{
	VmResult vm;
	vm.status = st;
	vm.events = std::move(events);
	vm.console_log = "/tmp/selftests-1/console.log";
	return vm;
}

const std::vector<SelftestInfo> kTwo = {{"single", false, true}, {"staged", true, true}};

} // namespace

TEST_CASE("a selftest's exit status and KTAP give pass, fail or skip", "[unit][selftests]")
{
	auto pass = judge_stage(0, 0, "TAP version 13\n1..2\nok 1 a.b\nok 2 a.c\n# Totals: pass:2\n");
	CHECK(pass.verdict == Verdict::pass);

	auto bail = judge_stage(1, 0, "# [STAGE 2] Retrieving session 'test-session'...\n"
				      "Bail out! [run_stage_2:63] luo_retrieve_session for "
				      "'test-session' (errno: No such file or directory)\n");
	CHECK(bail.verdict == Verdict::fail);
	CHECK_THAT(bail.message, ContainsSubstring("exit status 1"));
	CHECK_THAT(bail.message, ContainsSubstring("luo_retrieve_session for 'test-session'"));

	auto harness = judge_stage(1, 0, "ok 1 d.open\nnot ok 2 d.create_duplicate_session\n"
					 "not ok 3 d.preserve_memfd\n# FAILED: 1 / 3 tests passed.\n");
	CHECK(harness.verdict == Verdict::fail);
	CHECK_THAT(harness.message, ContainsSubstring("not ok 2 d.create_duplicate_session"));
	CHECK_THAT(harness.message, ContainsSubstring("1 more"));

	auto skip = judge_stage(4, 0, "ok 1 # SKIP Failed to open /dev/liveupdate. Is the luo "
				      "module loaded?\n");
	CHECK(skip.verdict == Verdict::skip);
	CHECK(skip.message == "Failed to open /dev/liveupdate. Is the luo module loaded?");
	CHECK(judge_stage(4, 0, "1..0 # SKIP no device\n").message == "no device");

	auto sig = judge_stage(0, 11, "# [STAGE 1] Creating...\n");
	CHECK(sig.verdict == Verdict::fail);
	CHECK(sig.message == "killed by SIGSEGV");

	// The exit status cannot hide a failed KTAP line.
	CHECK(judge_stage(0, 0, "ok 1 a\nnot ok 2 b\n").verdict == Verdict::fail);
	// A failure whose test skipped is no failure.
	CHECK(judge_stage(0, 0, "not ok 1 a # SKIP not here\n").verdict == Verdict::pass);
	// KSFT_XFAIL passes; KSFT_XPASS (3) does not.
	CHECK(judge_stage(2, 0, "").verdict == Verdict::pass);
	CHECK(judge_stage(3, 0, "").verdict == Verdict::fail);
}

TEST_CASE("a two-stage selftest is judged by its first stage that did not pass",
	  "[unit][selftests]")
{
	auto ok = judge_selftests(kTwo, vm_with({stage("single", 0, 0, "ok 1 x\n"),
						 stage("staged", 1, 0, ""), stage("staged", 2, 0, "")}),
				  "");
	REQUIRE(ok.size() == 2);
	CHECK(ok[0].id == "selftests/single");
	CHECK(ok[0].scenario == "selftests");
	CHECK(ok[0].verdict == Verdict::pass);
	CHECK(ok[1].verdict == Verdict::pass);
	CHECK(ok[1].vm_dir == "/tmp/selftests-1");

	auto late = judge_selftests(kTwo, vm_with({stage("single", 0, 0, ""), stage("staged", 1, 0, ""),
						   stage("staged", 2, 1, "Bail out! data mismatch\n")}),
				    "");
	CHECK(late[1].verdict == Verdict::fail);
	CHECK_THAT(late[1].message, ContainsSubstring("stage 2: exit status 1: data mismatch"));

	// Stage 2 of a program whose stage 1 failed only finds its state missing.
	auto early = judge_selftests(
		kTwo, vm_with({stage("single", 0, 0, ""), stage("staged", 1, 1, "Bail out! ENOSPC\n"),
			       stage("staged", 2, 1, "Bail out! Stage mismatch\n")}),
		"");
	CHECK(early[1].verdict == Verdict::fail);
	CHECK_THAT(early[1].message, ContainsSubstring("stage 1: exit status 1: ENOSPC"));

	auto skipped = judge_selftests(kTwo, vm_with({stage("single", 0, 0, ""),
						      stage("staged", 1, 4, "ok 1 # SKIP no rlimit\n"),
						      stage("staged", 2, 1, "")}),
				       "");
	CHECK(skipped[1].verdict == Verdict::skip);
	CHECK(skipped[1].message == "stage 1: no rlimit");
}

TEST_CASE("a selftest the VM never finished is a hang, infra or a failed kexec",
	  "[unit][selftests]")
{
	std::string console = "[ 1.0] luo-selftests: begin single stage 0\n"
			      "[ 1.2] luo-selftests: end single stage 0\n"
			      "[ 1.3] luo-selftests: begin staged stage 1\n"
			      "[ 1.4] luo-selftests: end staged stage 1\n"
			      "[ 0.9] luo-selftests: begin staged stage 2\n";
	auto vm = vm_with({stage("single", 0, 0, ""), stage("staged", 1, 0, "")},
			  VmResult::Status::hang);
	vm.why = "no event for 600 s";
	auto hung = judge_selftests(kTwo, vm, console);
	CHECK(hung[0].verdict == Verdict::pass);
	CHECK(hung[1].verdict == Verdict::hang);
	CHECK_THAT(hung[1].message, ContainsSubstring("last started: staged stage 2"));

	auto lost = vm_with({}, VmResult::Status::infra);
	lost.why = "QEMU killed by SIGSEGV";
	for (const auto &r : judge_selftests(kTwo, lost, ""))
		CHECK(r.verdict == Verdict::infra);

	Event w;
	w.type = EventType::warning;
	w.err = "kexec";
	w.detail = "kexec_file_load: Invalid argument";
	auto no_kexec = judge_selftests(kTwo, vm_with({stage("single", 0, 0, ""),
						       stage("staged", 1, 0, ""), w}),
					"");
	CHECK(no_kexec[1].verdict == Verdict::fail);
	CHECK_THAT(no_kexec[1].message, ContainsSubstring("kexec_file_load: Invalid argument"));
}

TEST_CASE("a kernel splat is the crash of the selftest that was running", "[unit][selftests]")
{
	auto events = vm_with({stage("single", 0, 0, ""), stage("staged", 1, 0, ""),
			       stage("staged", 2, 0, "")});
	std::string during = "luo-selftests: begin single stage 0\n"
			     "luo-selftests: end single stage 0\n"
			     "luo-selftests: begin staged stage 2\n"
			     "[ 2.0] WARNING: CPU: 0 PID: 70 at kernel/liveupdate/luo_file.c:500\n"
			     "luo-selftests: end staged stage 2\n";
	auto r = judge_selftests(kTwo, events, during);
	CHECK(r[0].verdict == Verdict::pass);
	CHECK(r[1].verdict == Verdict::crash);
	CHECK_THAT(r[1].message, ContainsSubstring("during staged stage 2"));
	CHECK_THAT(r[1].diagnostic, ContainsSubstring("luo_file.c:500"));

	// Between programs (the kexec, say) nobody can be blamed: all are.
	std::string between = "luo-selftests: end single stage 0\n"
			      "[ 2.0] Kernel panic - not syncing: kexec\n";
	for (const auto &c : judge_selftests(kTwo, events, between)) {
		CHECK(c.verdict == Verdict::crash);
		CHECK_THAT(c.message, ContainsSubstring("outside any selftest"));
	}
}

TEST_CASE("a selftest event survives the event port", "[unit][selftests][protocol]")
{
	auto ev = stage("luo_stress_files", 2, 1, "Bail out! x\n", 0);
	ev.usec = 1234;
	auto back = luo::protocol::event_from_json(luo::protocol::event_to_json(ev));
	CHECK(back.type == EventType::selftest);
	CHECK(back.selftest == "luo_stress_files");
	CHECK(back.stage == 2);
	CHECK(back.exit_code == 1);
	CHECK(back.detail == "Bail out! x\n");
	CHECK(back.usec == 1234);
	CHECK_THROWS(luo::protocol::event_from_json(R"({"seq":0,"boot":0,"type":"selftest"})"));
}

TEST_CASE("a selftest's own KTAP decides over an exit status of 0", "[unit][selftests]")
{
	// Bailed out, yet exit 0.
	auto bail = judge_stage(0, 0, "TAP version 13\n1..3\nok 1 a\nBail out! lost the session\n");
	CHECK(bail.verdict == Verdict::fail);
	CHECK_THAT(bail.message, ContainsSubstring("exit status 0 but KTAP bailed out: lost the session"));
	CHECK(judge_stage(0, 0, "Bail out!\n").verdict == Verdict::fail);

	// A plan of five and two results: three tests died unseen.
	auto short_plan = judge_stage(0, 0, "TAP version 13\n1..5\nok 1 a\nok 2 b\n# child died\n");
	CHECK(short_plan.verdict == Verdict::fail);
	CHECK_THAT(short_plan.message, ContainsSubstring("planned 5 tests and 2 reported"));
	// Subtests (indented) neither count toward the plan nor carry their own.
	auto nested = judge_stage(0, 0, "1..1\n    1..2\n    ok 1 x\n    ok 2 y\nok 1 parent\n");
	CHECK(nested.verdict == Verdict::pass);
	// A plan at the end is a plan too.
	CHECK(judge_stage(0, 0, "ok 1 a\nok 2 b\n1..2\n").verdict == Verdict::pass);

	// Exit 4 that skipped midway through its plan is a skip, not a loss.
	auto midway = judge_stage(4, 0, "1..4\nok 1 a\nok 2 # SKIP no iommufd\n");
	CHECK(midway.verdict == Verdict::skip);
	CHECK(midway.message == "no iommufd");
	// A "not ok" fails even a program that exits with skip.
	CHECK(judge_stage(4, 0, "not ok 1 a\nok 2 # SKIP x\n").verdict == Verdict::fail);

	// Where KTAP says SKIP for everything, it is a skip whatever the exit.
	auto all_skip = judge_stage(0, 0, "1..0 # SKIP no /dev/liveupdate\n");
	CHECK(all_skip.verdict == Verdict::skip);
	CHECK(all_skip.message == "no /dev/liveupdate");
	CHECK(judge_stage(0, 0, "1..2\nok 1 a # SKIP x\nok 2 b # SKIP y\n").verdict == Verdict::skip);
}

TEST_CASE("a selftest the guest's OOM killer ended is incomplete, not the kernel's failure",
	  "[unit][selftests]")
{
	std::vector<SelftestInfo> one = {{"vfio_pci_liveupdate_kexec_test", true, true}};
	auto vm = vm_with({stage("vfio_pci_liveupdate_kexec_test", 1, 0, "Preserving device\n", 9)});
	const std::string begin = "[   80.1] luo-selftests: begin vfio_pci_liveupdate_kexec_test stage 1\n";
	const std::string oom = "[   85.9] Out of memory: Killed process 103 (vfio_pci_liveup) "
				"total-vm:2256kB, anon-rss:72kB\n";
	const std::string end = "[   86.0] luo-selftests: end vfio_pci_liveupdate_kexec_test stage 1\n";

	auto r = judge_selftests(one, vm, begin + oom + end);
	REQUIRE(r.size() == 1);
	CHECK(r[0].verdict == Verdict::incomplete);
	CHECK_THAT(r[0].message, ContainsSubstring("OOM killer"));
	CHECK_THAT(r[0].message, ContainsSubstring("Killed process 103 (vfio_pci_liveup)"));
	CHECK_THAT(r[0].message, ContainsSubstring("--memory"));

	// SIGKILL without the OOM killer's word is the program's failure.
	auto plain = judge_selftests(one, vm, begin + end);
	CHECK(plain[0].verdict == Verdict::fail);
	CHECK_THAT(plain[0].message, ContainsSubstring("killed by SIGKILL"));

	// An OOM kill during another program's stage is not this one's.
	auto other = judge_selftests(one, vm, "[1] luo-selftests: begin other stage 1\n" + oom +
						      "[2] luo-selftests: end other stage 1\n" + begin + end);
	CHECK(other[0].verdict == Verdict::fail);
}
