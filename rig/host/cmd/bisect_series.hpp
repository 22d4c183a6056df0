// SPDX-License-Identifier: GPL-2.0-only
//
// The series half of `luo-rig bisect`: no git tree needed, each step is the
// same tree with a longer prefix of the posted patches, built in the one
// workspace that tree already has, so a step costs the files its patches
// change.
#pragma once

#include "host/cmd/bisect.hpp"

namespace luo::host {

// The first `k` of `patches` as `steps_dir`/patches-k with a `series` file:
// each step's kernel is built from exactly what it lists, and the developer
// can see it.  Two patches with one file name (from two --patches
// directories) both keep their text.
std::filesystem::path series_prefix(const std::filesystem::path &steps_dir,
				    const std::vector<std::filesystem::path> &patches, int k);

// `steps_dir` gets a run directory and a patch list per step, and steps.log.
BisectResult bisect_series(const BisectConfig &cfg, const std::filesystem::path &steps_dir);

} // namespace luo::host
