// SPDX-License-Identifier: GPL-2.0-only
//
// The uapi headers of the kernel's source (`make headers_install`), which
// whatever userspace the rig builds for the guest is compiled against.
#pragma once

#include <filesystem>

#include "host/kernel/kernel_build.hpp"
#include "host/kernel/kernel_source.hpp"

namespace luo::host {

// The source `kernel` names: --kernel-src, else Debian's linux-source-7.3.
KernelSource source_of(const KernelOptions &kernel);

// INSTALL_HDR_PATH of that source as built (built_source(): with the
// patches when they change a uapi header), installed once per identity under
// the cache (headers/<key>); throws SetupError when make fails or the tree
// has no Live Update uapi.
std::filesystem::path uapi_headers(const KernelOptions &kernel);
// The same for a source already resolved (built_source() once per run).
std::filesystem::path uapi_headers(const KernelSource &src);

} // namespace luo::host
