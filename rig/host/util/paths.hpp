// SPDX-License-Identifier: GPL-2.0-only
#pragma once

#include <filesystem>

namespace luo::host {

namespace fs = std::filesystem;

// Where downloads, kernel builds and their caches live:
// $LUO_RIG_CACHE, else $XDG_CACHE_HOME/luo-rig, else ~/.cache/luo-rig.
fs::path cache_root();

// The rig's source tree (scenarios, kernel-config): $LUO_RIG_HOME or the tree
// this binary was configured from.
fs::path source_root();

// The static guest binary, built next to the luo-rig binary.
fs::path guest_binary();
// The static runner of the kernel's own selftests (PID 1 of their image).
fs::path selftest_runner_binary();
// luo-rig itself, for commands that run it again (bisect's steps).
fs::path rig_binary();

} // namespace luo::host
