// SPDX-License-Identifier: GPL-2.0-only
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cerrno>
#include <map>

#include "host/run/judge.hpp"
#include "host/run/luo_lines.hpp"
#include "protocol/kernel_report.hpp"
#include "guest_reports.hpp"
#include "host_fixtures.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;

namespace {

// A refused kexec (case r's, expected ENOENT) that went through: the guest
// reports it from the next kernel with result 0, the other case's first-kernel
// steps after it never ran, so its files are not there to retrieve (ENOENT).
host::VmResult escaped_kexec(const host::Batch &b, unsigned kexec_r)
{
	host::VmResult vm;
	vm.status = host::VmResult::Status::done;
	for (const auto &s : b.plan.steps) {
		if (s.id > kexec_r && s.boot == 0)
			continue;
		protocol::Event ev;
		ev.type = protocol::EventType::step;
		ev.step = s.id;
		ev.op = s.op;
		ev.boot = s.id == kexec_r ? 1 : s.boot;
		ev.result = (s.boot == 1 && s.case_id == "a") ? -ENOENT : 0;
		ev.err = protocol::errno_name(ev.result);
		vm.events.push_back(ev);
	}
	return vm;
}

} // namespace

TEST_CASE("every step as expected is a pass", "[unit][judge]")
{
	auto a = memfd_case("a"), r = refused_case("r");
	auto batch = host::make_batch({&a, &r});
	auto kexec_r = step_id(batch, "r", protocol::Op::kexec);
	auto out = host::judge_batch(batch, guest_reports(batch, {{kexec_r, -ENOENT}}), "");
	REQUIRE(out.cases.size() == 2);
	CHECK(out.cases[0].verdict == host::Verdict::pass);
	CHECK(out.cases[1].verdict == host::Verdict::pass);
	CHECK_FALSE(out.batch_failed);
}

TEST_CASE("a wrong errno is a contract violation naming step and values", "[unit][judge]")
{
	auto a = memfd_case("a"), r = refused_case("r");
	auto batch = host::make_batch({&a, &r});
	auto kexec_r = step_id(batch, "r", protocol::Op::kexec);
	auto out = host::judge_batch(batch, guest_reports(batch, {{kexec_r, 0}}), "");
	auto &c = out.cases[1];
	CHECK(c.verdict == host::Verdict::violation);
	CHECK(c.failed_step == 4);
	CHECK_THAT(c.message, ContainsSubstring("step 5 kexec") &&
				      ContainsSubstring("expected ENOENT [C2]") &&
				      ContainsSubstring("observed ok"));
}

TEST_CASE("a FINISH that should have failed is caught", "[unit][judge]")
{
	auto a = memfd_case("a");
	a.steps.back().expect = err("EBUSY", "C4");
	auto batch = host::make_batch({&a});
	auto out = host::judge_batch(batch, guest_reports(batch, {}), "");
	CHECK(out.cases[0].verdict == host::Verdict::violation);
	CHECK_THAT(out.cases[0].message, ContainsSubstring("finish") &&
						 ContainsSubstring("expected EBUSY [C4]"));
}

TEST_CASE("missing steps after a panic are a crash with the console excerpt", "[unit][judge]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	auto vm = guest_reports(batch, {}, 4);
	vm.status = host::VmResult::Status::exited;
	auto out = host::judge_batch(batch, vm, "x\nBUG: unable to handle page fault\ny\n");
	CHECK(out.cases[0].verdict == host::Verdict::crash);
	CHECK_THAT(out.cases[0].diagnostic, ContainsSubstring("page fault"));
	CHECK(out.batch_failed);
}

TEST_CASE("a hang and a refused shared kexec fail the batch", "[unit][judge]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	auto vm = guest_reports(batch, {}, 3);
	vm.status = host::VmResult::Status::hang;
	auto out = host::judge_batch(batch, vm, "");
	CHECK(out.cases[0].verdict == host::Verdict::hang);
	CHECK(out.batch_failed);

	unsigned shared = 0;
	for (const auto &s : batch.plan.steps)
		if (s.op == protocol::Op::kexec)
			shared = s.id;
	auto refused = guest_reports(batch, {{shared, -ENOENT}}, shared + 1);
	out = host::judge_batch(batch, refused, "");
	CHECK(out.batch_failed);
	CHECK_THAT(out.why, ContainsSubstring("ENOENT"));
	CHECK(out.cases[0].verdict == host::Verdict::violation);
	REQUIRE(out.cases[0].failed_step >= 0);
	CHECK(out.cases[0].steps[out.cases[0].failed_step].op == protocol::Op::kexec);
}

TEST_CASE("a kernel WARNING in a passing batch sends its cases to bisection", "[unit][judge]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	auto out = host::judge_batch(batch, guest_reports(batch, {}),
				     "WARNING: CPU: 0 PID: 1 at mm/memfd_luo.c:10 f+0x1\n");
	CHECK(out.batch_failed);
	CHECK(out.cases[0].verdict == host::Verdict::incomplete);
	auto single = host::make_batch({&a});
	out = host::judge_batch(single, guest_reports(single, {}),
				"WARNING: CPU: 0 PID: 1 at mm/memfd_luo.c:10 f+0x1\n");
	CHECK(out.cases[0].verdict == host::Verdict::crash);
}

TEST_CASE("a kexec that had to be refused but went through is pinned on its case",
	  "[unit][judge]")
{
	auto a = memfd_case("a"), r = refused_case("r");
	auto batch = host::make_batch({&a, &r});
	auto kexec_r = step_id(batch, "r", protocol::Op::kexec);
	auto out = host::judge_batch(batch, escaped_kexec(batch, kexec_r), "");
	CHECK(out.batch_failed);
	CHECK(out.cases[1].verdict == host::Verdict::violation);
	CHECK_THAT(out.cases[1].message, ContainsSubstring("kexec") &&
						 ContainsSubstring("expected ENOENT"));
	// The bystander is not blamed: it runs again apart.
	CHECK(out.cases[0].verdict == host::Verdict::incomplete);
}

TEST_CASE("a setup step that fails after another case broke the contract runs again apart",
	  "[unit][judge]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	a.steps.back().expect = err("EBUSY", "C4");
	auto batch = host::make_batch({&a, &b});
	auto create_b = step_id(batch, "b", protocol::Op::create);
	auto out = host::judge_batch(batch, guest_reports(batch, {{create_b, -EINVAL}}), "");
	CHECK(out.cases[0].verdict == host::Verdict::violation);
	// b may have met what a left behind: not pinned on it.
	CHECK(out.cases[1].verdict == host::Verdict::incomplete);
	CHECK_THAT(out.cases[1].message, ContainsSubstring("create") &&
						 ContainsSubstring("observed EINVAL") &&
						 ContainsSubstring("where a broke the contract first"));
	CHECK(out.batch_failed);

	// Alone, or with nobody to blame, it is the case's own failure.
	auto alone = host::make_batch({&b});
	auto out1 = host::judge_batch(
		alone, guest_reports(alone, {{step_id(alone, "b", protocol::Op::create), -EINVAL}}), "");
	CHECK(out1.cases[0].verdict == host::Verdict::violation);
	auto c = memfd_case("c");
	auto pair = host::make_batch({&c, &b});
	auto out2 = host::judge_batch(
		pair, guest_reports(pair, {{step_id(pair, "b", protocol::Op::create), -EINVAL}}), "");
	CHECK(out2.cases[0].verdict == host::Verdict::pass);
	CHECK(out2.cases[1].verdict == host::Verdict::violation);
}

// Every finding of a VM stays in the report of its cases: what follows is
// one test per way a splat meets another failure.
namespace {

const char *kKasan = "[    4.2] BUG: KASAN: slab-use-after-free in luo_file_finish+0x1c/0x90\n"
		     "[    4.2] Read of size 8 at addr ffff888004a1b2c0 by task luo-vmm/1\n";
const char *kWarn = "[    3.1] WARNING: CPU: 0 PID: 1 at kernel/liveupdate/luo_file.c:321 "
		    "liveupdate_get_token_outgoing+0x5a/0x80\n";

// a's FINISH expected EBUSY; the kernel said ok.
host::VmResult finish_ok(const host::Batch &b)
{
	return guest_reports(b);
}

} // namespace

TEST_CASE("a violation with a splat in its VM is a crash naming the step too", "[unit][judge]")
{
	auto a = memfd_case("a");
	a.steps.back().expect = err("EBUSY", "C4");
	auto batch = host::make_batch({&a});
	auto out = host::judge_batch(batch, finish_ok(batch), kKasan);
	auto &c = out.cases[0];
	CHECK(c.verdict == host::Verdict::crash);
	CHECK(c.failed_step == 7);
	CHECK_THAT(c.message, ContainsSubstring("kernel crash \"KASAN") &&
				      ContainsSubstring("step 8 finish in s: expected EBUSY [C4], observed ok"));
	CHECK_THAT(c.diagnostic, ContainsSubstring("step 8 finish") &&
					 ContainsSubstring("Read of size 8"));
	CHECK(out.cause == host::BatchOutcome::Cause::splat);
	CHECK(host::next_move(out, c, 1, false, true) == host::NextMove::settle);
}

TEST_CASE("in a batch, a violation with a splat runs again apart with the others",
	  "[unit][judge]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	a.steps.back().expect = err("EBUSY", "C4");
	auto batch = host::make_batch({&a, &b});
	auto out = host::judge_batch(batch, finish_ok(batch), kKasan);
	CHECK(out.batch_failed);
	CHECK_FALSE(out.pinned);
	// Whose splat it is nobody knows yet: the violation is a crash until
	// it runs alone, the passing case merely unsettled.
	CHECK(out.cases[0].verdict == host::Verdict::crash);
	CHECK_THAT(out.cases[0].message, ContainsSubstring("kernel crash \"KASAN") &&
						 ContainsSubstring("expected EBUSY [C4]"));
	CHECK(out.cases[1].verdict == host::Verdict::incomplete);
	CHECK(host::next_move(out, out.cases[0], 2, false, true) == host::NextMove::bisect);
	CHECK(host::next_move(out, out.cases[1], 2, false, true) == host::NextMove::bisect);
}

TEST_CASE("a guest fatal with a splat keeps the splat, the fatal in the diagnostic",
	  "[unit][judge]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	auto vm = guest_reports(batch, {}, 4);
	vm.status = host::VmResult::Status::exited;
	protocol::Event fatal;
	fatal.type = protocol::EventType::fatal;
	fatal.boot = 1;
	fatal.detail = "retrieve session s: EIO";
	vm.events.push_back(fatal);
	auto out = host::judge_batch(batch, vm, kKasan);
	CHECK(out.cause == host::BatchOutcome::Cause::splat);
	auto &c = out.cases[0];
	CHECK(c.verdict == host::Verdict::crash);
	CHECK_THAT(c.message, ContainsSubstring("kernel crash \"KASAN"));
	CHECK_THAT(c.diagnostic, ContainsSubstring("the mock VMM gave up in boot 1: retrieve "
						   "session s: EIO") &&
					 ContainsSubstring("slab-use-after-free"));
}

TEST_CASE("a hang after a splat is a crash, the hang in the diagnostic", "[unit][judge]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	auto vm = guest_reports(batch, {}, 4);
	vm.status = host::VmResult::Status::hang;
	vm.why = "no progress for 120 s";
	auto out = host::judge_batch(batch, vm, kWarn);
	CHECK(out.cases[0].verdict == host::Verdict::crash);
	CHECK_THAT(out.cases[0].diagnostic, ContainsSubstring("then: no progress for 120 s"));
}

TEST_CASE("an escaped kexec keeps its case pinned, but not a splat beside it", "[unit][judge]")
{
	auto a = memfd_case("a"), r = refused_case("r");
	auto batch = host::make_batch({&a, &r});
	auto kexec_r = step_id(batch, "r", protocol::Op::kexec);
	auto vm = escaped_kexec(batch, kexec_r);
	auto quiet = host::judge_batch(batch, vm, "");
	CHECK(quiet.pinned);
	CHECK(quiet.cause == host::BatchOutcome::Cause::stopped);
	CHECK(quiet.cases[1].verdict == host::Verdict::violation);

	auto loud = host::judge_batch(batch, vm, kWarn);
	CHECK(loud.batch_failed);
	// The splat is not known to be the escaped case's: traced, not pinned.
	CHECK_FALSE(loud.pinned);
	CHECK(loud.cause == host::BatchOutcome::Cause::splat);
	CHECK(loud.cases[1].verdict == host::Verdict::crash);
	CHECK_THAT(loud.cases[1].message, ContainsSubstring("kernel crash \"WARNING") &&
						  ContainsSubstring("kexec") &&
						  ContainsSubstring("expected ENOENT"));
	CHECK_THAT(loud.cases[1].diagnostic, ContainsSubstring("luo_file.c:321"));
	CHECK(loud.cases[0].verdict == host::Verdict::incomplete);
	CHECK_THAT(loud.cases[0].message, ContainsSubstring("kernel crash \"WARNING"));
	CHECK_THAT(loud.cases[0].diagnostic, ContainsSubstring("had to be refused but went through"));
}

TEST_CASE("two different reports in one VM are both kept", "[unit][judge]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	auto out = host::judge_batch(batch, guest_reports(batch), std::string(kWarn) + kKasan + kWarn);
	REQUIRE(out.splats.size() == 2);
	CHECK(out.splats[0].signature != out.splats[1].signature);
	auto &c = out.cases[0];
	CHECK(c.verdict == host::Verdict::crash);
	CHECK_THAT(c.message, ContainsSubstring("kernel crash \"WARNING") &&
				      ContainsSubstring("and 1 more kernel report"));
	CHECK_THAT(c.diagnostic, ContainsSubstring("luo_file.c:321") &&
					 ContainsSubstring("slab-use-after-free"));
}

TEST_CASE("a case set aside for another's leftovers still carries the splat", "[unit][judge]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	a.steps.back().expect = err("EBUSY", "C4");
	auto batch = host::make_batch({&a, &b});
	auto create_b = step_id(batch, "b", protocol::Op::create);
	auto out = host::judge_batch(batch, guest_reports(batch, {{create_b, -EINVAL}}), kWarn);
	CHECK(out.cause == host::BatchOutcome::Cause::splat);
	CHECK(out.cases[0].verdict == host::Verdict::crash);
	// Not blamed for a's leftovers, not cleared of the splat either: it
	// runs again apart, with both stories in its report meanwhile.
	CHECK(out.cases[1].verdict == host::Verdict::incomplete);
	CHECK_THAT(out.cases[1].message, ContainsSubstring("kernel crash \"WARNING"));
	CHECK_THAT(out.cases[1].diagnostic, ContainsSubstring("where a broke the contract first") &&
						    ContainsSubstring("luo_file.c:321"));
	CHECK(host::next_move(out, out.cases[1], 2, false, true) == host::NextMove::bisect);
}

TEST_CASE("a violation quotes what LUO said about the case's sessions, or about the whole boot",
	  "[unit][judge]")
{
	const std::string console =
		"[    1.084625] luo: No registered handler for compatible 'kvm-gmem-ref-v1'\r\n"
		"[    1.090000] luo: Failed to deserialize files for session [c0-s] -2\r\n"
		"[    2.000000] luo: Freeze failed for token[0x2] handler[kvm-gmem-ref-v1] err[-2]\n"
		"[    3.000000] luo: Unable to finish session [c4-s] on release\n"
		"[    3.100000] luo: Unable to finish session [c40-s] on release\n"
		"[    4.000000] kvm: luo: not LUO's own line [c4-s]\n"
		"[    1.084625] luo: No registered handler for compatible 'kvm-gmem-ref-v1'\n";
	using luo::host::luo_lines;
	using luo::host::luo_lines_about;
	const auto lines = luo_lines(console);
	CHECK(lines.size() == 5);  // the repeated line once, the other driver's not
	CHECK(luo_lines_about(lines, {"c4-s"}) ==
	      std::vector<std::string>{"luo: No registered handler for compatible 'kvm-gmem-ref-v1'",
				       "luo: Failed to deserialize files for session [c0-s] -2",
				       "luo: Unable to finish session [c4-s] on release"});
	CHECK(luo_lines_about(lines, {"c4-s"}, 1).size() == 1);
	CHECK(luo_lines_about(luo_lines("[ 1.0] luo: Freeze failed for token[0x2]\n"), {"c0-s"})
		      .empty());
}

TEST_CASE("a splat the guest saw logged during a step names that step, verdict unchanged",
	  "[unit][judge]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	auto vm = guest_reports(batch);
	// Step 5 of the case (its preserve) saw the report start in /dev/kmsg.
	vm.events[4].kernel_report =
		"WARNING: kernel/liveupdate/luo_file.c:321 at liveupdate_get_token_outgoing+0x5a/0x80";
	auto out = host::judge_batch(batch, vm, kWarn);
	auto &c = out.cases[0];
	CHECK(c.verdict == host::Verdict::crash);
	CHECK(c.failed_step == 4);
	CHECK_THAT(c.message, ContainsSubstring("kernel crash \"WARNING") &&
				      ContainsSubstring("logged during step 5 " +
							std::string(protocol::to_string(a.steps[4].op))));
	CHECK_THAT(c.diagnostic, ContainsSubstring("the guest saw \"WARNING: kernel/liveupdate"));

	// Seen by no step (logged between steps, or in a thread's step): the
	// case still crashes, pinned on no step.
	auto quiet = host::judge_batch(batch, guest_reports(batch), kWarn);
	CHECK(quiet.cases[0].verdict == host::Verdict::crash);
	CHECK(quiet.cases[0].failed_step == -1);

	// A violation keeps its own step.
	auto b = memfd_case("b");
	b.steps.back().expect = err("EBUSY", "C4");
	auto vb = host::make_batch({&b});
	auto seen = guest_reports(vb);
	seen.events[4].kernel_report = "BUG: KASAN: slab-use-after-free in luo_file_finish+0x1c/0x90";
	auto both = host::judge_batch(vb, seen, kKasan);
	CHECK(both.cases[0].failed_step == 7);
	CHECK_THAT(both.cases[0].message, ContainsSubstring("step 8 finish"));
}

TEST_CASE("a splat that stopped the VM during a case's step names that step", "[unit][judge]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	// Steps 1-5 reported; the report took the guest down in step 6.
	auto vm = guest_reports(batch, {}, 5);
	vm.status = host::VmResult::Status::exited;
	auto out = host::judge_batch(batch, vm, kKasan);
	auto &c = out.cases[0];
	CHECK(c.verdict == host::Verdict::crash);
	CHECK(c.failed_step == 5);
	CHECK_THAT(c.message, ContainsSubstring("the VM stopped during step 6 " +
						std::string(protocol::to_string(a.steps[5].op))));
	CHECK_THAT(c.diagnostic, ContainsSubstring("which never reported"));

	// Every step reported: the splat came after them, pinned on none.
	auto after = guest_reports(batch);
	after.status = host::VmResult::Status::exited;
	CHECK(host::judge_batch(batch, after, kKasan).cases[0].failed_step == -1);
}

TEST_CASE("the kernel report starts the guest watches for are the classifier's", "[unit][judge]")
{
	for (const char *line : {"WARNING: drivers/vfio/device_cdev.c:851 at vfio_cdev_luo_unpreserve+0x5b/0xa7",
				 "WARNING: possible circular locking dependency detected",
				 "BUG: KASAN: slab-use-after-free in luo_file_finish+0x1c/0x90",
				 "BUG: kernel NULL pointer dereference, address: 0000000000000008",
				 "UBSAN: array-index-out-of-bounds in kernel/liveupdate/luo_file.c:40:9",
				 "Oops: general protection fault, probably for non-canonical address",
				 "kernel BUG at mm/memfd_luo.c:99!",
				 "INFO: task luo-vmm:1 blocked for more than 10 seconds.",
				 "Kernel panic - not syncing: Fatal exception"})
		CHECK(protocol::starts_kernel_report(line));
	for (const char *line : {"luo_fault: armed vfio-unpreserve-attached",
				 "vfio-pci 0000:00:04.0: preserved without its iommufd in the same session: -2",
				 "iommufd: Live Update preserves marked HWPTs only, sealed and immutable",
				 "FAULT_INJECTION: forcing a failure.", ""})
		CHECK_FALSE(protocol::starts_kernel_report(line));
}
