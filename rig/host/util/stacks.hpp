// SPDX-License-Identifier: GPL-2.0-only
//
// The stacks of every thread of this process, for the one report a rig that
// is stuck in itself can still give before it exits.
#pragma once

namespace luo::host {

// Writes them to stderr with gdb when it is installed, or says how to get
// them; waits at most a minute.
void print_thread_stacks();

} // namespace luo::host
