// SPDX-License-Identifier: GPL-2.0-only
//
// The kernel's taint mask, as each boot of the guest reports it before its
// kexec or power-off.  A kernel taints itself when it reports a problem; a
// taint the console scan found no report for is a failure all the same.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "host/run/console.hpp"
#include "protocol/plan.hpp"

namespace luo::host {

// The kernel's letters for the set bits, in bit order ("DW" for D and W);
// bits the kernel has no letter for show as "?<bit>".
std::string taint_letters(std::uint64_t mask);

// Bits a clean boot of the rig's kernels has, which say nothing.
std::uint64_t benign_taint();

// The first boot whose taint has a bit beyond benign_taint(), as a console
// finding titled by its letters; nullopt when every boot was clean.
std::optional<ConsoleFinding> unexplained_taint(const std::vector<protocol::Event> &events);

} // namespace luo::host
