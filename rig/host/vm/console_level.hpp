// SPDX-License-Identifier: GPL-2.0-only
//
// Whether extra kernel parameters would keep the kernel's reports off the
// console.  The judge reads the console for splats; a WARNING is printed
// at KERN_WARNING (4) and reaches the console only while the console log
// level is above that, so `quiet` or `loglevel=3` makes a kernel that warns
// look clean.
#pragma once

#include <optional>
#include <string>

namespace luo::host {

// The lowest console log level at which every report the judge reads
// (WARNING included) is printed.
inline constexpr int kReportConsoleLevel = 5;

// Why `append` (the --append text, put after the rig's own parameters)
// silences reports, with what to do instead; nullopt when it does not.
std::optional<std::string> console_level_problem(const std::string &append);

} // namespace luo::host
