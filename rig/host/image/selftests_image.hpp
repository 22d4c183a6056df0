// SPDX-License-Identifier: GPL-2.0-only
//
// The selftest image: images/selftests.json, built in C++ until the recipe
// loader exists.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "host/image/initramfs.hpp"

namespace luo::host {

// Entry for entry the recipe images/selftests.json with its inputs @kernel,
// @runner, @selftests and @plan; the `tree` entry is expanded into the
// directory's files.  To be replaced by load_image("selftests", inputs) once
// rig/host/image/recipe.hpp is on main.
std::vector<ImageEntry> selftests_image(const std::filesystem::path &kernel,
					const std::filesystem::path &runner,
					const std::filesystem::path &selftests,
					const std::string &plan_json);

} // namespace luo::host
