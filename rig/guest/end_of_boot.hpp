// SPDX-License-Identifier: GPL-2.0-only
//
// What every kernel owes the host before the mock VMM leaves it, by kexec or
// power-off: a leak scan (kernels with kmemleak), its taint mask, and
// everything it and the kernel printed, out of the UARTs.
#pragma once

#include "guest/events.hpp"
#include "protocol/plan.hpp"

namespace luo::guest {

// `last`: nothing more will run in this kernel (the shared kexec, or the
// power-off), so the scan waits out kmemleak's minimum object age first:
// a leak made by the boot's last steps must show now, in this kernel, also
// when a case runs alone.  A case's own kexec, which the contract expects
// to be refused, scans without waiting: once per boot, not per case.
void end_of_boot(const protocol::Plan &plan, EventChannel &events, bool last);

// Waits until the console has sent what the mock VMM printed; the kernel's
// own lines go out through its console driver.
void drain_console();

} // namespace luo::guest
