// SPDX-License-Identifier: GPL-2.0-only
//
// Reading the kernel console: did the kernel crash, and where.
#pragma once

#include <string>
#include <vector>

namespace luo::host {

struct ConsoleFinding {
	std::string kind;   // "panic", "BUG", "Oops", "WARNING", "KASAN", "GPF", "lockdep", ...
	int line = 0;       // 1-based line where the report begins ("cut here" included)
	std::string text;   // the report's header line, e.g. "WARNING: CPU: 0 PID: 1 at ..."
	// What the report is about, the same from one hit of the bug to the
	// next: "WARNING in luo_file_freeze", "KASAN: slab-use-after-free Read
	// in foo", "possible deadlock in bar".  The crash signature.
	std::string title;
	int end_line = 0;   // last line that belongs to the report
};

// Every kernel problem the console reports, in order.  A "cut here" line
// and the WARNING or BUG it announces are one report.
std::vector<ConsoleFinding> classify_console(const std::string &console);

// The one-line message a crash verdict carries: `kernel crash "TITLE": LINE`.
// The signature code reads the title back with crash_title_of().
std::string crash_message(const ConsoleFinding &f);
// The title in a crash_message(), empty if `message` is none.
std::string crash_title_of(const std::string &message);

// A few lines around the first finding, for a failure report.
std::string console_excerpt(const std::string &console, const ConsoleFinding &f,
			    int before = 2, int after = 12);

} // namespace luo::host
