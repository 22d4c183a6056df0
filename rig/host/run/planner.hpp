// SPDX-License-Identifier: GPL-2.0-only
//
// Packs cases into VMs: many cases per VM and per kexec, each case in sessions
// of its own, cases whose kexec must be refused first and one at a time.
//
// A VM runs one or more kexec rounds.  Round r's cases preserve in boot r and
// restore and finish in boot r+1; then their objects and sessions are closed
// and round r+1's cases preserve in that same boot.  So R rounds cost one
// QEMU start, one first boot and R kexecs, not R of each, and a VFIO device
// serves a case in every round.  Only cases that leave nothing behind
// (Case::chainable) are followed by another round.  Every case ends with
// teardown steps of its own, so the guest's exit closes nothing unjudged.
#pragma once

#include <string>
#include <vector>

#include "core/case.hpp"
#include "host/run/schedule.hpp"
#include "protocol/plan.hpp"

namespace luo::host {

struct PlanLimits {
	// Per kexec round:
	int max_cases = 250;      // bounds the blast radius of a crash
	// VFIO devices: each case of a round needs its own.  29 is what the
	// root bus holds directly; more need PCIe root ports, and under TCG
	// each port slows every boot (and every device reset behind it) more
	// than the extra cases per round save: the default suite took 151 s
	// at 29 per round and 244 s at 57 (2 cores, one sitting, 16 and 8
	// rounds per VM).
	int max_edu = 29;
	std::uint64_t max_bytes = 512ull << 20; // memfd + guest_memfd contents
	// Per VM: kexec rounds chained in one VM.  1 gives one QEMU per round.
	int max_rounds = 16;
};

// Where a plan step comes from.
struct StepRef {
	int case_index = -1;      // into Batch::cases; -1 for the batch's shared kexecs
	int case_step = -1;       // into the case's steps; -1 for a teardown step
	// Closes what the case still holds once its story is over, in the boot
	// its last step ran in: every object, then its open sessions.  These
	// closes run the handlers' release and finish paths, so they are the
	// case's steps too (expected to succeed, and to return at all).
	bool teardown = false;
	// The object or session as the case names it (teardown steps only).
	std::string object, session;
};

struct Batch {
	std::vector<const core::Case *> cases;
	std::vector<int> rounds;    // per case: the boot its first kexec leaves
	Schedule schedule;          // how each boot serves its cases' sessions
	protocol::Plan plan;
	std::vector<StepRef> refs;  // indexed by plan step id
	int boots = 0;              // successful kexecs the batch goes through
};

// Builds the plan for exactly these cases (all with the same boots()), case
// k in round rounds[k] (empty: all in round 0), each boot serving its cases
// in `schedule` (kexec refusals always first, one after another).
Batch make_batch(const std::vector<const core::Case *> &cases, const std::vector<int> &rounds = {},
		 const Schedule &schedule = {});

// The rounds of one VM's cases, packed in order within the per-round limits.
// Cases that are not chainable all go to the last round.  split_cases()
// hands out lists for which this gives at most limits.max_rounds rounds;
// a retry or a bisected half of such a list gives no more.
std::vector<int> assign_rounds(const std::vector<const core::Case *> &cases,
			       const PlanLimits &limits);

// A plan that does nothing but one kexec: the floor of a boot + kexec +
// boot cycle (bench), and the lightest load for stressing QEMU itself.
Batch kexec_only_batch();

// Groups cases into VM loads within the limits, at least `parallel` of
// them when there are enough rounds to go round (so that every worker has
// a VM); make_batch(load, assign_rounds(load)) plans each.
std::vector<std::vector<const core::Case *>> split_cases(const std::vector<const core::Case *> &cases,
							 const PlanLimits &limits, int parallel = 1);

} // namespace luo::host
