// SPDX-License-Identifier: GPL-2.0-only
//
// Finding a report's guilty function in its stack trace: the first frame
// that is not a generic helper (dump_stack, __warn, lock primitives, KASAN
// internals, ...).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/run/console_table.hpp"

namespace luo::host {

// The line without its "[  12.345678]" / "[ T123]" / "[ C0]" prefixes.
std::string_view strip_console_prefix(std::string_view line);

// The function of a stack frame line ("  foo+0x1a/0x40", "[<ffff...>] foo+0x1a"),
// if it is one.  "? foo+0x1a" (an unreliable frame) is not.
std::optional<std::string> frame_function(std::string_view line);

// The guilty function of a report: `lines` are the report's lines (prefixes
// stripped), the opening line first; `header_func` what the opening line
// names, if the rule takes it.  Empty when no frame qualifies.
std::string guilty_function(const std::vector<std::string_view> &lines, const ReportRule &rule,
			    const std::string &header_func);

} // namespace luo::host
