// SPDX-License-Identifier: GPL-2.0-only
//
// Failure signatures and what `luo-rig repro` makes of N runs.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "host/cmd/repro.hpp"
#include "host/run/console.hpp"
#include "host/run/signature.hpp"
#include "host/util/errors.hpp"

using namespace luo::host;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("a failure signature keeps the bug and drops what changes between hits",
	  "[unit][repro]")
{
	CaseResult pass;
	pass.verdict = Verdict::pass;
	CHECK(failure_signature(pass).empty());

	CaseResult v;
	v.verdict = Verdict::violation;
	v.message = "step 7 retrieve gmem in s1: expected ENOENT [C3], observed ok";
	CHECK(failure_signature(v) ==
	      "contract-violation: retrieve gmem in s1: expected ENOENT [C3], observed ok");

	CaseResult a, b;
	a.verdict = b.verdict = Verdict::crash;
	a.message = "kernel crash \"WARNING in liveupdate_get_token_outgoing\": WARNING: CPU: 0 PID: 1 at "
		    "kernel/liveupdate/luo_file.c:321 liveupdate_get_token_outgoing+0x5a/0x80 (in a batch of 57 "
		    "cases, not bisected)";
	b.message = "kernel crash \"WARNING in liveupdate_get_token_outgoing\": WARNING: CPU: 1 PID: 77 at "
		    "kernel/liveupdate/luo_file.c:321 liveupdate_get_token_outgoing+0x5a/0x80";
	CHECK(failure_signature(a) == failure_signature(b));
	CHECK(failure_signature(a) == "crash: WARNING in liveupdate_get_token_outgoing");

	CaseResult h1, h2;
	h1.verdict = h2.verdict = Verdict::hang;
	h1.message = "no progress for 121 s (limit 120 s); last event: {\"step\":4}";
	h2.message = "no progress for 133 s (limit 120 s); last event: {\"step\":4}";
	CHECK(failure_signature(h1) == failure_signature(h2));
	h2.message = "no progress for 133 s (limit 120 s); last event: {\"step\":5}";
	CHECK(failure_signature(h1) != failure_signature(h2));
}

namespace {

// The signature of the crash verdict the judge makes of a console.
std::string crash_signature(const std::string &console)
{
	auto f = classify_console(console);
	REQUIRE_FALSE(f.empty());
	CaseResult r;
	r.verdict = Verdict::crash;
	r.message = crash_message(f.front());
	return failure_signature(r);
}

std::string warning_at(const char *time, int cpu, int pid, const char *func, const char *off)
{
	std::string t = std::string("[  ") + time + "] ";
	return t + "------------[ cut here ]------------\n" + t + "WARNING: CPU: " + std::to_string(cpu) +
	       " PID: " + std::to_string(pid) + " at kernel/liveupdate/luo_file.c:321 " + func + "+" + off +
	       "/0x80\n" + t + "RIP: 0010:" + func + "+" + off + "/0x80\n" + t + "Call Trace:\n" + t +
	       " luo_session_freeze+0x8e/0x120\n";
}

} // namespace

TEST_CASE("a kernel crash's signature is its title", "[unit][repro]")
{
	// The same WARNING at another time, CPU, PID and offset is the same bug.
	CHECK(crash_signature(warning_at("3.1", 0, 1, "luo_file_freeze", "0x1c4")) ==
	      crash_signature(warning_at("97.4", 1, 211, "luo_file_freeze", "0x1d0")));
	CHECK(crash_signature(warning_at("3.1", 0, 1, "luo_file_freeze", "0x1c4")) ==
	      "crash: WARNING in luo_file_freeze");
	// A WARNING in another function is another bug, though both are
	// announced by the same "cut here" line.
	CHECK(crash_signature(warning_at("3.1", 0, 1, "luo_file_freeze", "0x1c4")) !=
	      crash_signature(warning_at("3.1", 0, 1, "luo_file_unfreeze", "0x1c4")));
	// As is a BUG in the same place.
	CHECK(crash_signature("[ 1.0] kernel BUG at kernel/liveupdate/luo_file.c:321!\n"
			      "[ 1.0] Oops: invalid opcode: 0000 [#1] PREEMPT SMP\n"
			      "[ 1.0] RIP: 0010:luo_file_freeze+0x1c4/0x230\n") == "crash: kernel BUG in luo_file_freeze");
}

TEST_CASE("repro: rate, signatures and exit code", "[unit][repro]")
{
	ReproResult r;
	r.id = "memfd/x";
	r.runs = 5;
	CHECK(repro_exit_code(r) == kExitPass);
	CHECK_THAT(render_repro(r), ContainsSubstring("failed 0 of 5 runs"));

	r.failed = 3;
	r.signatures["contract-violation: step 7"] = 2;
	r.signatures["crash: kernel BUG"] = 1;
	auto text = render_repro(r);
	CHECK_THAT(text, ContainsSubstring("memfd/x: failed 3 of 5 runs"));
	CHECK_THAT(text, ContainsSubstring("2x contract-violation: step 7"));
	CHECK_THAT(text, ContainsSubstring("more than one signature"));
	CHECK(repro_exit_code(r) == kExitFail);

	ReproResult dead;
	dead.runs = dead.infra = 2;
	CHECK(repro_exit_code(dead) == kExitInfra);
}

TEST_CASE("repro: a run that was infra or setup is neither a pass nor a failure",
	  "[unit][repro]")
{
	ReproResult r;
	r.id = "memfd/x";
	r.runs = 5;
	r.infra = 1;
	r.unjudged_why = "infra: QEMU killed by SIGSEGV (luo-rig-runs/r/run-3/vm-1)";
	// Four passes and a dead QEMU do not clear the case.
	CHECK(repro_exit_code(r) == kExitInfra);
	auto text = render_repro(r);
	CHECK_THAT(text, ContainsSubstring("failed 0 of 5 runs (1 said nothing about the kernel: "
					   "1 infra, 0 setup)"));
	CHECK_THAT(text, ContainsSubstring("no verdict") && ContainsSubstring("QEMU killed by SIGSEGV"));

	r.setup = 1;
	CHECK(repro_exit_code(r) == kExitSetup);
	// A failure seen is a failure, whatever else happened.
	r.failed = 1;
	r.signatures["crash: kernel BUG"] = 1;
	CHECK(repro_exit_code(r) == kExitFail);
	CHECK_THAT(render_repro(r), !ContainsSubstring("no verdict"));
}
