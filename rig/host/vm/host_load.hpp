// SPDX-License-Identifier: GPL-2.0-only
//
// How busy this host's CPUs were, for the message of a VM that hung.  A TCG
// guest is a few host threads; on a host whose CPUs are oversubscribed
// (another run, a compiler) its early boot can starve past the rig's limits,
// and a developer reading "hang" must see that beside it.  The verdict is
// not changed: the host's load cannot tell a starved boot from a kernel
// that hangs.
#pragma once

#include <string>

namespace luo::host {

// "; host CPU pressure then: 37.7 % of the last minute, 46.7 % of the last
// five (tasks waiting for a CPU)" from /proc/pressure/cpu's text, or empty
// when the text has no "some" line.
std::string cpu_pressure_note(const std::string &psi);

// The same for this host now (empty without PSI).
std::string host_cpu_pressure_note();

} // namespace luo::host
