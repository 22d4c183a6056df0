// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig bench --backends`: what a VM costs through libvirt against QEMU
// started directly, measured in one sitting on the same kernel and plan.
#pragma once

#include <string>

#include "host/kernel/kernel_build.hpp"

namespace luo::host {

struct BackendBenchConfig {
	int vms = 5;                        // per backend
	int devices = 2;                    // edu devices per VM
	std::string connect = "qemu:///system";
	std::string accel = "auto";
	KernelOptions kernel;
};

int run_backend_bench(const BackendBenchConfig &cfg);

} // namespace luo::host
