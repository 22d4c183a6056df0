// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig bench --suite`: the default suite under the planner that gives each
// kexec round its own VM and under the one that chains rounds, against the
// floor for its case count, in one sitting on one kernel.
#pragma once

#include <string>

#include "host/kernel/kernel_build.hpp"

namespace luo::host {

struct SuiteBenchConfig {
	int rounds = 16;            // the chaining planner's --rounds
	int jobs = 0;               // VMs at once; 0: one per core
	std::string accel = "auto";
	KernelOptions kernel;
};

int run_suite_bench(const SuiteBenchConfig &cfg);

} // namespace luo::host
