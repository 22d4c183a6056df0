// SPDX-License-Identifier: GPL-2.0-only
//
// Small text helpers: list options, ids, XML text.
#pragma once

#include <string>
#include <vector>

namespace luo::host {

// "a,b,,c" -> {"a", "b", "", "c"}; "" -> {}.
std::vector<std::string> split_commas(const std::string &list);

// Escapes text for XML attributes and character data.
std::string xml_escape(const std::string &s);

} // namespace luo::host
