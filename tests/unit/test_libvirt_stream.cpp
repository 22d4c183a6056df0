// SPDX-License-Identifier: GPL-2.0-only
//
// A libvirt console stream that fails is not the end of the guest's output:
// what the VM printed afterwards is lost, and no case passes on it.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "host/run/judge.hpp"
#include "host/vm/libvirt.hpp"
#include "guest_reports.hpp"
#include "host_fixtures.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;

namespace {

const char *kLost = "libvirt lost the VM's output: the console stream of serial0 (console.log) "
		    "of luo-rig-x-vm-1 on h failed while the domain ran: internal error: "
		    "stream aborted";

} // namespace

TEST_CASE("a failed console stream makes the VM infra, with libvirt's error", "[unit][libvirt]")
{
	host::VmResult r;
	r.status = host::VmResult::Status::done;
	host::note_lost_output(r, kLost);
	CHECK(r.status == host::VmResult::Status::infra);
	CHECK_THAT(r.why, ContainsSubstring("stream aborted") && ContainsSubstring("the watch had: done"));
	CHECK(r.output_lost == kLost);

	// A clean stream changes nothing; a lost host or Ctrl-C keep their word.
	host::VmResult clean;
	clean.status = host::VmResult::Status::done;
	host::note_lost_output(clean, "");
	CHECK(clean.status == host::VmResult::Status::done);
	host::VmResult gone;
	gone.status = host::VmResult::Status::infra;
	gone.connection_lost = true;
	gone.why = "the daemon closed it";
	host::note_lost_output(gone, kLost);
	CHECK(gone.why == "the daemon closed it");
	host::VmResult stop;
	stop.status = host::VmResult::Status::interrupted;
	host::note_lost_output(stop, kLost);
	CHECK(stop.status == host::VmResult::Status::interrupted);
}

TEST_CASE("no case passes in a VM whose output was lost", "[unit][libvirt][judge]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	b.steps.back().expect = err("EBUSY", "C4");
	auto batch = host::make_batch({&a, &b});
	auto vm = guest_reports(batch);
	host::note_lost_output(vm, kLost);
	auto out = host::judge_batch(batch, vm, "");
	CHECK(out.cause == host::BatchOutcome::Cause::infra);
	// Its steps all matched, but a splat may have been lost with the output.
	CHECK(out.cases[0].verdict == host::Verdict::infra);
	CHECK_THAT(out.cases[0].message, ContainsSubstring("stream aborted"));
	CHECK(host::next_move(out, out.cases[0], 2, false, true) == host::NextMove::retry_fresh);
	// What was seen wrong was seen.
	CHECK(out.cases[1].verdict == host::Verdict::violation);
}
