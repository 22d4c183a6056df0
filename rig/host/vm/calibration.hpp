// SPDX-License-Identifier: GPL-2.0-only
//
// Early-boot timing under TCG.  On a loaded host the emulated PIT and LAPIC
// timer are too irregular for the kernel's delay-loop calibration: it prints
// "calibrate_delay_direct() failed to get a good estimate" and falls back to
// a loop that waits for timer ticks, and a kexec'd kernel has been seen to
// wait there forever (bench --qemu-stress: 1 VM in 150 with six VMs on two
// cores).  Under TCG the guest's TSC runs at the host's rate, so the right
// loops-per-jiffy is known in advance and `lpj=` skips the calibration.
#pragma once

#include <filesystem>
#include <string>

#include "host/vm/accel.hpp"

namespace luo::host {

// "lpj=N" for TCG (empty for KVM, which calibrates reliably, or when the
// host's clock rate is unknown).  `cpuinfo` is /proc/cpuinfo's text; `hz` the
// kernel's CONFIG_HZ.
std::string lpj_arg(Accel accel, const std::string &cpuinfo, int hz);

// CONFIG_HZ of a kernel the rig built (its cached config beside the image);
// 250, the x86 default, when unknown (a prebuilt image).
int kernel_hz(const std::filesystem::path &bzimage);

// Both together, for the kernel about to boot on this host.
std::string calibration_args(Accel accel, const std::filesystem::path &bzimage);

} // namespace luo::host
