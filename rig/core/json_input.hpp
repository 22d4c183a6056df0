// SPDX-License-Identifier: GPL-2.0-only
//
// What every JSON input of the rig (scenarios, contracts) shares: reading the
// file, parsing it with syntax errors at file:line:column, the name a file
// gives by default, and the names it may use.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/scenario.hpp"

namespace luo::core {

// The whole file; ScenarioError "cannot open <what>" when it cannot be read.
std::string read_input(const std::string &path, const std::string &what);

// Key order is kept (it is significant in scenarios).  A syntax error is a
// ScenarioError at its line and column, with the pointer being read there.
nlohmann::ordered_json parse_input(const std::string &text, const std::string &file);

// "scenarios/deps/kvm-gmem.json" -> "kvm-gmem".
std::string input_stem(const std::string &path);

// 1-48 characters from a-z 0-9 - _ . (not "-" alone).
bool valid_name(const std::string &s);

std::string join(const std::vector<std::string> &v, const char *sep = ", ");

} // namespace luo::core
