// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig shell`: the test VM with a busybox shell, for reproducing by hand.
#pragma once

#include <string>

#include "host/kernel/kernel_build.hpp"

namespace luo::host {

struct ShellConfig {
	std::string scenario;       // optional: put this scenario's plan in /plan.jsonl
	std::string case_pattern;   // which of its cases (glob)
	std::string accel = "auto";
	std::string fault;
	int edu_devices = 2;
	KernelOptions kernel;
};

int run_shell(const ShellConfig &cfg);

} // namespace luo::host
