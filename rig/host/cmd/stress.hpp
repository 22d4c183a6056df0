// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig bench --qemu-stress N`: boots the heaviest VM shape the planner
// makes (every edu device, an init that only kexecs) N times, several per
// core, and counts how each VM ended.  It exists to tell QEMU's own failures
// under load (crashes, stalls in early boot) from anything a kernel does, and
// to compare QEMU builds on one machine in one sitting.
#pragma once

#include <string>

#include "host/kernel/kernel_build.hpp"

namespace luo::host {

struct StressConfig {
	int boots = 100;           // VMs to start in all
	int jobs = 6;              // at once
	int devices = 57;          // edu devices per VM
	std::string accel = "auto";
	std::string qemu = "qemu-system-x86_64";
	KernelOptions kernel;
};

int run_qemu_stress(const StressConfig &cfg);

} // namespace luo::host
