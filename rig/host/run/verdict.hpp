// SPDX-License-Identifier: GPL-2.0-only
//
// What became of each case, step by step.
#pragma once

#include <string>
#include <vector>

#include "core/case.hpp"

namespace luo::host {

enum class Verdict {
	pass,
	violation,    // an outcome differs from the contract's
	crash,        // the kernel reported a panic, BUG, Oops, WARNING, KASAN...
	hang,         // no progress within the timeout
	infra,        // QEMU/libvirt failed; says nothing about the kernel
	setup,        // the rig could not even start the case
	incomplete,   // some steps never ran, for a reason outside the case
	flaky,        // passed, but only after a batch it was in failed for a
		      // reason no rerun traced to any case (hang, refused kexec)
	fail,         // a kernel selftest reported a failure of its own
	skip,         // a kernel selftest skipped, or could not be built or found
};

const char *to_string(Verdict v);

struct StepResult {
	protocol::Op op{};
	std::string session, object;
	std::uint64_t token = 0;
	core::Expect expect;
	bool executed = false;
	int result = 0;
	std::string err, detail;
	bool matches = false;
	// Not one of the case's own steps: the planner closes what the case
	// still held after its last one (StepRef::teardown).
	bool teardown = false;
	// --inject fail-nth: see protocol::Event.  A broken invariant fails
	// the step whatever its last outcome.
	std::uint32_t injected = 0;
	std::uint32_t absorbed = 0;
	std::uint32_t points = 0;  // a retrieve walked on copies
	std::uint32_t untried = 0; // of its points, those no copy was spent on
	std::string inject_broke;
	// --inject race: the changes the racers made to the case's objects
	// while the step ran, and the session racer's.
	std::uint32_t raced = 0;
	std::uint32_t raced_sessions = 0;
	// The racers' changes the kernel refused (protocol::Event::raced_refused).
	std::uint32_t raced_refused = 0;
	// A retrieved iommufd's racer IOAS carried over (raced_carried).
	std::uint32_t raced_carried = 0;
	// Of `raced`, the device racer's (raced_devices).
	std::uint32_t raced_devices = 0;
	// Opens tried on devices the kernel held (raced_waiting).
	std::uint32_t raced_waiting = 0;
	// The first line of a kernel report the guest saw logged while the
	// step ran (protocol::Event::kernel_report): the step a crash is
	// pinned on.
	std::string kernel_report;
};

struct CaseResult {
	std::string id, scenario;
	Verdict verdict = Verdict::incomplete;
	std::string message;           // one line: what went wrong
	std::string diagnostic;        // several lines: console excerpt, details
	int failed_step = -1;
	std::vector<StepResult> steps;
	std::string vm_dir;            // the VM's logs
	std::string host;              // where that VM ran
	std::string schedule;          // how that VM served its cases' sessions
	int attempts = 0;              // VMs the case ran in (bisection, retries)
	bool infra_retried = false;    // its VM died for infra reasons and was rerun
	std::vector<std::string> warnings;  // the guest's warnings in its VM
};

// "expected EBUSY [C4], observed ok" and friends.
std::string describe_expect(const core::Expect &e);
std::string describe_observed(const StepResult &s);

} // namespace luo::host
