// SPDX-License-Identifier: GPL-2.0-only
//
// Packs cases into VMs: many cases per VM and per kexec, each case in sessions
// of its own, cases whose kexec must be refused first and one at a time.
#pragma once

#include <string>
#include <vector>

#include "core/case.hpp"
#include "protocol/plan.hpp"

namespace luo::host {

struct PlanLimits {
	int max_cases = 250;      // per VM: bounds the blast radius of a crash
	int max_edu = 57;         // VFIO devices per VM: each case needs its own
	std::uint64_t max_bytes = 512ull << 20; // memfd + guest_memfd contents
};

// Where a plan step comes from.
struct StepRef {
	int case_index = -1;      // into Batch::cases; -1 for the shared kexec
	int case_step = -1;       // into the case's steps
};

struct Batch {
	std::vector<const core::Case *> cases;
	protocol::Plan plan;
	std::vector<StepRef> refs;  // indexed by plan step id
	int boots = 0;              // successful kexecs the batch goes through
};

// Builds the plan for exactly these cases (all with the same boots()).
Batch make_batch(const std::vector<const core::Case *> &cases);

// A plan that does nothing but one kexec: the floor of a boot + kexec +
// boot cycle (bench), and the lightest load for stressing QEMU itself.
Batch kexec_only_batch();

// Groups cases into VM loads within the limits; make_batch() plans each.
std::vector<std::vector<const core::Case *>> split_cases(const std::vector<const core::Case *> &cases,
							 const PlanLimits &limits);

} // namespace luo::host
