// SPDX-License-Identifier: GPL-2.0-only
//
// Reading the kernel console: did the kernel crash, and where.
#pragma once

#include <string>
#include <vector>

namespace luo::host {

struct ConsoleFinding {
	std::string kind;   // "panic", "BUG", "Oops", "WARNING", "KASAN", "GPF", ...
	int line = 0;       // 1-based line in the console log
	std::string text;   // the line itself
	std::string title;  // what the report is named by
};

// Every line that reports a kernel problem, in order.
std::vector<ConsoleFinding> classify_console(const std::string &console);

// A few lines around the first finding, for a failure report.
std::string console_excerpt(const std::string &console, const ConsoleFinding &f,
			    int before = 2, int after = 12);

} // namespace luo::host
