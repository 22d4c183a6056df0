// SPDX-License-Identifier: GPL-2.0-only
//
// The verdicts a gate must never get wrong: a splat no rerun owns, a batch
// failure that vanished on rerun, the guest's own alarms, QEMU's death.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <csignal>
#include <map>

#include <sys/wait.h>

#include "host/run/history.hpp"
#include "host/run/judge.hpp"
#include "host/run/run.hpp"
#include "host/util/errors.hpp"
#include "host/vm/qemu.hpp"
#include "guest_reports.hpp"
#include "host_fixtures.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;

namespace {

const char *kWarning =
	"[    3.100000] ------------[ cut here ]------------\n"
	"[    3.100001] WARNING: CPU: 0 PID: 1 at kernel/liveupdate/luo_file.c:321 "
	"liveupdate_get_token_outgoing+0x5a/0x80\n"
	"[    3.100002] Modules linked in:\n";

std::vector<std::string> signatures(const host::BatchOutcome &o)
{
	std::vector<std::string> out;
	for (const auto &s : o.splats)
		out.push_back(s.signature);
	return out;
}

// What the run loop does with a batch outcome, by hand: the first VM ran the
// batch, then each case ran alone and passed.
std::map<const core::Case *, host::CaseResult>
rerun_alone_and_pass(host::RunHistory &h, const host::Batch &b, const host::BatchOutcome &first,
		     bool splat_again)
{
	h.add_failure({first.cause, "vm-1", first.why, first.last_event, first.excerpt, b.cases,
		       first.splats, 1});
	std::map<const core::Case *, host::CaseResult> results;
	for (const auto *c : b.cases) {
		h.note_attempt(c, 1, b.cases.size(), signatures(first));
		auto alone = host::make_batch({c});
		auto out = host::judge_batch(alone, guest_reports(alone), splat_again ? kWarning : "");
		h.note_attempt(c, 2, 1, signatures(out));
		results[c] = out.cases[0];
	}
	return results;
}

} // namespace

TEST_CASE("a WARNING no rerun reproduces still fails every case of its batch", "[unit][gate]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	auto first = host::judge_batch(batch, guest_reports(batch), kWarning);
	REQUIRE(first.batch_failed);
	CHECK(first.cause == host::BatchOutcome::Cause::splat);
	CHECK(first.cases[0].verdict == host::Verdict::incomplete);

	host::RunHistory h;
	auto results = rerun_alone_and_pass(h, batch, first, false);
	CHECK(results[&a].verdict == host::Verdict::pass);
	h.resolve(results);
	for (const auto *c : {&a, &b}) {
		CHECK(results[c].verdict == host::Verdict::crash);
		CHECK_THAT(results[c].message, ContainsSubstring("kernel crash \"WARNING in "));
		CHECK_THAT(results[c].message, ContainsSubstring("not reproduced alone: 0 of 1 reruns"));
		CHECK_THAT(results[c].diagnostic, ContainsSubstring("luo_file.c:321"));
	}
	std::vector<host::CaseResult> flat{results[&a], results[&b]};
	CHECK(host::exit_code_for(flat) == host::kExitFail);
}

TEST_CASE("a splat that a case reproduces alone is that case's crash, not its neighbour's",
	  "[unit][gate]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	auto first = host::judge_batch(batch, guest_reports(batch), kWarning);
	host::RunHistory h;
	h.add_failure({first.cause, "vm-1", first.why, "", first.excerpt, batch.cases, first.splats, 1});
	std::map<const core::Case *, host::CaseResult> results;
	auto alone_a = host::make_batch({&a});
	auto alone_b = host::make_batch({&b});
	auto out_a = host::judge_batch(alone_a, guest_reports(alone_a), kWarning);
	auto out_b = host::judge_batch(alone_b, guest_reports(alone_b), "");
	h.note_attempt(&a, 2, 1, signatures(out_a));
	h.note_attempt(&b, 2, 1, signatures(out_b));
	results[&a] = out_a.cases[0];
	results[&b] = out_b.cases[0];
	h.resolve(results);
	CHECK(results[&a].verdict == host::Verdict::crash);
	CHECK(results[&b].verdict == host::Verdict::pass);
}

TEST_CASE("one case's reproduced WARNING does not explain its neighbour's KASAN",
	  "[unit][gate]")
{
	const char *kasan = "[    4.2] BUG: KASAN: slab-use-after-free in luo_file_finish+0x1c/0x90\n";
	auto a = memfd_case("a"), b = memfd_case("b"), c = memfd_case("c");
	auto batch = host::make_batch({&a, &b, &c});
	auto first = host::judge_batch(batch, guest_reports(batch), std::string(kWarning) + kasan);
	REQUIRE(first.splats.size() == 2);
	host::RunHistory h;
	h.add_failure({first.cause, "vm-1", first.why, "", first.excerpt, batch.cases, first.splats, 1});
	std::map<const core::Case *, host::CaseResult> results;
	for (const auto *k : batch.cases) {
		h.note_attempt(k, 1, 3, signatures(first));
		// a's WARNING comes back alone; b's KASAN was rare and does not.
		auto alone = host::make_batch({k});
		auto out = host::judge_batch(alone, guest_reports(alone), k == &a ? kWarning : "");
		h.note_attempt(k, 2, 1, signatures(out));
		results[k] = out.cases[0];
	}
	h.resolve(results);
	CHECK(results[&a].verdict == host::Verdict::crash);
	CHECK_THAT(results[&a].message, ContainsSubstring("kernel crash \"WARNING"));
	// a's own report still shows the KASAN its batch had.
	CHECK_THAT(results[&a].diagnostic, ContainsSubstring("also had kernel crash \"KASAN"));
	for (const auto *k : {&b, &c}) {
		CHECK(results[k].verdict == host::Verdict::crash);
		CHECK_THAT(results[k].message, ContainsSubstring("kernel crash \"KASAN") &&
						       ContainsSubstring("not reproduced alone: 0 of 1 reruns"));
		CHECK_THAT(results[k].diagnostic, ContainsSubstring("luo_file_finish"));
	}
}

TEST_CASE("a batch hang is explained by a case that hangs alone, not by a violation",
	  "[unit][gate]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	host::RunHistory h;
	h.add_failure({host::BatchOutcome::Cause::hang, "vm-1", "no progress", "", "", batch.cases});
	std::map<const core::Case *, host::CaseResult> results;
	results[&a].verdict = host::Verdict::violation;
	results[&b].verdict = host::Verdict::pass;
	h.resolve(results);
	CHECK(results[&a].verdict == host::Verdict::violation);
	CHECK(results[&b].verdict == host::Verdict::flaky);
}

TEST_CASE("a hang that vanishes on rerun is flaky, and flaky fails the run unless allowed",
	  "[unit][gate]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	auto vm = guest_reports(batch);
	vm.events.resize(3);
	vm.status = host::VmResult::Status::hang;
	vm.why = "no progress for 120 s";
	auto first = host::judge_batch(batch, vm, "luo-vmm: boot 0\n");
	REQUIRE(first.batch_failed);
	CHECK(first.cause == host::BatchOutcome::Cause::hang);
	CHECK_FALSE(first.last_event.empty());

	host::RunHistory h;
	auto results = rerun_alone_and_pass(h, batch, first, false);
	h.resolve(results);
	CHECK(results[&a].verdict == host::Verdict::flaky);
	CHECK_THAT(results[&a].message, ContainsSubstring("vm-1"));
	CHECK_THAT(results[&a].diagnostic, ContainsSubstring("last event of vm-1"));
	std::vector<host::CaseResult> flat{results[&a], results[&b]};
	CHECK(host::exit_code_for(flat) == host::kExitFail);
	CHECK(host::exit_code_for(flat, true) == host::kExitPass);
}

TEST_CASE("bystanders of a case pinned as guilty pass plainly", "[unit][gate]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	host::RunHistory h;
	h.add_failure({host::BatchOutcome::Cause::hang, "vm-1", "hang", "", "", batch.cases});
	std::map<const core::Case *, host::CaseResult> results;
	results[&a].verdict = host::Verdict::hang;
	results[&b].verdict = host::Verdict::pass;
	h.resolve(results);
	CHECK(results[&a].verdict == host::Verdict::hang);
	CHECK(results[&b].verdict == host::Verdict::pass);
}

TEST_CASE("a guest fatal is a setup failure with the guest's words, never a kernel verdict",
	  "[unit][gate]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	host::VmResult vm;
	vm.status = host::VmResult::Status::exited;
	protocol::Event boot;
	boot.type = protocol::EventType::boot;
	protocol::Event fatal;
	fatal.type = protocol::EventType::fatal;
	fatal.detail = "/plan.json: plan: version 9, this build understands 1";
	vm.events = {boot, fatal};
	auto out = host::judge_batch(batch, vm, "luo-vmm: boot 0\n");
	CHECK(out.cause == host::BatchOutcome::Cause::guest_fatal);
	CHECK(out.cases[0].verdict == host::Verdict::setup);
	CHECK_THAT(out.cases[0].message, ContainsSubstring("version 9"));
	CHECK(host::exit_code_for(out.cases) == host::kExitSetup);
}

TEST_CASE("a guest warning reaches the cases of its VM", "[unit][gate]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	auto vm = guest_reports(batch);
	protocol::Event w;
	w.type = protocol::EventType::warning;
	w.err = "ENODEV";
	w.detail = "0000:00:02.0: no vfio-pci driver";
	vm.events.insert(vm.events.begin(), w);
	auto out = host::judge_batch(batch, vm, "");
	CHECK(out.cases[0].verdict == host::Verdict::pass);
	REQUIRE(out.cases[0].warnings.size() == 1);
	CHECK_THAT(out.cases[0].warnings[0], ContainsSubstring("ENODEV: 0000:00:02.0"));
}

TEST_CASE("QEMU's death is infra, named by its signal", "[unit][gate]")
{
	bool clean = true;
	// A raw wait status for "killed by signal 11 with a core".
	int segv = SIGSEGV | 0x80;
	CHECK(host::describe_wait_status(segv, &clean) == "killed by SIGSEGV (core dumped)");
	CHECK_FALSE(clean);
	CHECK(host::describe_wait_status(11 << 8, &clean) == "exited with status 11");
	CHECK_FALSE(clean);
	CHECK(host::describe_wait_status(0, &clean) == "exited with status 0");
	CHECK(clean);

	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	host::VmResult vm;
	vm.status = host::VmResult::Status::infra;
	vm.why = "QEMU killed by SIGSEGV";
	auto out = host::judge_batch(batch, vm, "");
	CHECK(out.cause == host::BatchOutcome::Cause::infra);
	CHECK(out.cases[0].verdict == host::Verdict::infra);
	CHECK(host::exit_code_for(out.cases) == host::kExitInfra);
}

TEST_CASE("exit codes: a failure outranks setup, setup outranks infra", "[unit][gate]")
{
	std::vector<host::CaseResult> v(3);
	v[0].verdict = host::Verdict::infra;
	v[1].verdict = host::Verdict::pass;
	v[2].verdict = host::Verdict::pass;
	CHECK(host::exit_code_for(v) == host::kExitInfra);
	v[1].verdict = host::Verdict::setup;
	CHECK(host::exit_code_for(v) == host::kExitSetup);
	v[2].verdict = host::Verdict::violation;
	CHECK(host::exit_code_for(v) == host::kExitFail);
	CHECK(host::exit_code_for({}) == host::kExitSkip);
}

TEST_CASE("a splat before QEMU died is the kernel's, not infra to be retried away",
	  "[unit][gate]")
{
	auto a = memfd_case("a");
	auto batch = host::make_batch({&a});
	host::VmResult vm;
	vm.status = host::VmResult::Status::infra;
	vm.why = "QEMU killed by SIGSEGV";
	auto out = host::judge_batch(batch, vm, kWarning);
	CHECK(out.cause == host::BatchOutcome::Cause::splat);
	CHECK(out.cases[0].verdict == host::Verdict::crash);
	CHECK(host::exit_code_for(out.cases) == host::kExitFail);
}

TEST_CASE("a stall before the first event gets one fresh QEMU; a second one is a hang",
	  "[unit][gate]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	host::VmResult vm;
	vm.status = host::VmResult::Status::hang;
	vm.why = "no progress for 120 s";
	auto out = host::judge_batch(batch, vm, "[    0.5] tsc: Unable to calibrate against PIT\n");
	CHECK(out.early_stall);
	CHECK(out.cases[0].verdict == host::Verdict::hang);
	CHECK(host::next_move(out, out.cases[0], 2, false, true) == host::NextMove::retry_fresh);
	// Reproduced on the fresh QEMU: the kernel's hang, never bisected away.
	CHECK(host::next_move(out, out.cases[0], 2, true, true) == host::NextMove::settle);

	// Once the mock VMM has spoken, a stall is the kernel's from the start.
	auto later = guest_reports(batch);
	later.events.resize(2);
	later.status = host::VmResult::Status::hang;
	auto hung = host::judge_batch(batch, later, "luo-vmm: boot 0\n");
	CHECK_FALSE(hung.early_stall);
	CHECK(host::next_move(hung, hung.cases[1], 2, false, true) == host::NextMove::bisect);
	CHECK(host::next_move(hung, hung.cases[1], 2, false, false) == host::NextMove::settle);
}
