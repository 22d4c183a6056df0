// SPDX-License-Identifier: GPL-2.0-only
//
// The kernel source with its patches applied, for what is built from it
// besides the kernel: the uapi headers and the tree's own selftests.  A
// series that adds a selftest or an ioctl must be judged by its own
// programs and headers, not by those of the tree it was applied to.
#pragma once

#include <string>
#include <vector>

#include "host/kernel/kernel_build.hpp"
#include "host/kernel/kernel_source.hpp"

namespace luo::host {

// Whether a patch touching these paths (relative to the tree) changes what
// userspace is built from: tools/, or a uapi header.
bool touches_userspace(const std::vector<std::string> &paths);

// source_of(kernel) when none of the kernel's patches touches userspace;
// otherwise a copy of it with every patch applied, made once per source
// and series under the cache (patched-src/<key>; hard links where the
// cache shares the tree's filesystem, so it costs little room).  Its
// identity covers the patches.  Throws PatchError as the build would.
KernelSource built_source(const KernelOptions &kernel);

} // namespace luo::host
