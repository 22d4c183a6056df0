// SPDX-License-Identifier: GPL-2.0-only
//
// Compares what the guest reported with what the oracle expects.
#pragma once

#include <string>
#include <vector>

#include "host/run/planner.hpp"
#include "host/vm/qemu.hpp"
#include "host/run/verdict.hpp"

namespace luo::host {

struct BatchOutcome {
	std::vector<CaseResult> cases;  // in Batch::cases order
	bool batch_failed = false;      // the VM or the shared kexec failed: the
					// unfinished cases need a VM of their own
	std::string why;
};

// `console` is the text of the VM's console log.
BatchOutcome judge_batch(const Batch &batch, const VmResult &vm, const std::string &console);

bool step_matches(const core::Expect &e, int result, const std::string &err);

} // namespace luo::host
