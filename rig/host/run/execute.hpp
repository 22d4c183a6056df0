// SPDX-License-Identifier: GPL-2.0-only
//
// One batch in one VM: write its plan and image, boot, follow, judge.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "host/vm/accel.hpp"
#include "host/run/judge.hpp"
#include "host/run/planner.hpp"
#include "host/vm/qemu.hpp"

namespace luo::host {

struct VmContext {
	std::filesystem::path kernel;
	std::filesystem::path vmm;
	Accel accel = Accel::tcg;
	std::string qemu = "qemu-system-x86_64";  // --qemu
	std::string cmdline;          // extra kernel parameters
	std::vector<std::string> faults;  // luo_fault knobs each kernel must confirm
	int memory_mb = 2048;
	int edu_devices = -1;         // >= 0: this many, whatever the plan uses
};

struct Executed {
	VmResult vm;
	BatchOutcome outcome;
};

Executed execute_batch(const Batch &batch, const VmContext &ctx, const std::filesystem::path &dir,
		       const std::function<void(const protocol::Event &)> &on_event = {});

} // namespace luo::host
