// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig bench`: what batching buys, measured in one run on one machine.
#pragma once

#include <string>

#include "host/kernel/kernel_build.hpp"

namespace luo::host {

struct BenchConfig {
	int cases = 40;            // cases in the batched VM
	int singles = 3;           // of those, how many also run one per boot
	std::string accel = "auto";
	std::string scenario;      // default: scenarios/deps/kvm-gmem.json
	KernelOptions kernel;
};

int run_bench(const BenchConfig &cfg);

} // namespace luo::host
