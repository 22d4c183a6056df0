// SPDX-License-Identifier: GPL-2.0-only
//
// Compares what the guest reported with what the oracle expects.
#pragma once

#include <string>
#include <vector>

#include "host/run/console.hpp"
#include "host/run/planner.hpp"
#include "host/vm/vm.hpp"
#include "host/run/verdict.hpp"

namespace luo::host {

// One kernel report in a VM's console, told apart from the others by its
// failure signature: a batch keeps every one of them, not just the first.
struct Splat {
	std::string message;    // what a crash of a case says: kernel crash "TITLE": ...
	std::string signature;  // failure_signature() of such a crash
	std::string excerpt;    // the console lines around it
};

// One report, with the console lines around it.
Splat splat_of(const std::string &console, const ConsoleFinding &f, int before = 2,
	       int after = 12);

// The console's reports, one per signature, in the order they came.
std::vector<Splat> splats_of(const std::string &console);

struct BatchOutcome {
	std::vector<CaseResult> cases;  // in Batch::cases order
	bool batch_failed = false;      // the VM or the shared kexec failed: the
					// unfinished cases need a VM of their own
	std::string why;

	// Why the batch failed, for the cases it leaves unsettled.  `pinned`:
	// the failure was traced to one case of the batch, so the others are
	// bystanders and a later pass of theirs is a plain pass.
	enum class Cause {
		none,
		kexec_refused,   // the shared kexec was refused
		hang,            // the kernel stopped making progress
		stopped,         // the guest stopped early without a splat
		splat,           // a crash signature no single case can own
		infra,           // QEMU died or never started: rerun once
		guest_fatal,     // the mock VMM gave up: a rig or setup problem
	} cause = Cause::none;
	bool pinned = false;
	// The VM stalled before its first event: nothing under test had run
	// yet, so it is retried once like infra; a second stall is a hang.
	bool early_stall = false;
	std::string last_event;         // the VM's last event, as JSON
	std::string excerpt;            // console lines around the first splat
	std::vector<Splat> splats;      // every report of the console
	// The VM's host went away (a dead libvirt connection): its cases run
	// again on another host, whatever the VM had done.
	bool connection_lost = false;
};

const char *to_string(BatchOutcome::Cause c);

// `console` is the text of the VM's console log.
BatchOutcome judge_batch(const Batch &batch, const VmResult &vm, const std::string &console);

// What the run does with one case of a judged batch.
enum class NextMove {
	settle,      // its verdict stands
	retry_fresh, // the same cases once more on a fresh QEMU (infra's one retry)
	bisect,      // run again in a smaller group to find whose failure it was
};
NextMove next_move(const BatchOutcome &bo, const CaseResult &r, size_t batch_size,
		   bool already_retried, bool bisect);

bool step_matches(const core::Expect &e, int result, const std::string &err);

} // namespace luo::host
