// SPDX-License-Identifier: GPL-2.0-only
//
// Small text helpers shared by the command line's list options and ids.
#pragma once

#include <string>
#include <vector>

namespace luo::host {

// "a,b,,c" -> {"a", "b", "", "c"}; "" -> {}.
std::vector<std::string> split_commas(const std::string &list);

} // namespace luo::host
