// SPDX-License-Identifier: GPL-2.0-only
#include "host/vm/console_level.hpp"

#include <cctype>
#include <sstream>
#include <vector>

namespace luo::host {

namespace {

// The first number of a value such as "3", "3 4 1 7" or "3,4,1,7".
std::optional<int> leading_number(const std::string &v)
{
	size_t i = 0;
	while (i < v.size() && (v[i] == '"' || v[i] == ' '))
		i++;
	size_t j = i;
	while (j < v.size() && std::isdigit((unsigned char)v[j]))
		j++;
	if (j == i)
		return std::nullopt;
	return std::stoi(v.substr(i, j - i));
}

// The command line's words, a quoted value kept whole as the kernel does.
std::vector<std::string> words(const std::string &s)
{
	std::vector<std::string> out;
	std::string w;
	bool quoted = false;
	for (char c : s) {
		if (c == '"')
			quoted = !quoted;
		if (!quoted && std::isspace((unsigned char)c)) {
			if (!w.empty())
				out.push_back(w);
			w.clear();
			continue;
		}
		w += c;
	}
	if (!w.empty())
		out.push_back(w);
	return out;
}

} // namespace

std::optional<std::string> console_level_problem(const std::string &append)
{
	// The kernel applies these in order, so the last one decides (the
	// rig's own loglevel=6 comes first); ignore_loglevel prints all.
	std::string culprit;
	int level = kReportConsoleLevel + 1;
	for (const auto &w : words(append)) {
		auto eq = w.find('=');
		std::string key = w.substr(0, eq);
		std::string value = eq == std::string::npos ? "" : w.substr(eq + 1);
		if (key == "ignore_loglevel" || key == "printk.ignore_loglevel")
			return std::nullopt;
		std::optional<int> n;
		if (key == "quiet")
			n = 4;   // CONSOLE_LOGLEVEL_QUIET
		else if (key == "debug")
			n = 10;  // CONSOLE_LOGLEVEL_DEBUG
		else if (key == "loglevel" || key == "console_loglevel" ||
			 key == "sysctl.kernel.printk" || key == "sysctl.kernel/printk")
			n = leading_number(value);
		if (!n)
			continue;
		level = *n;
		culprit = w;
	}
	if (level >= kReportConsoleLevel)
		return std::nullopt;
	return "'" + culprit + "' sets the console log level to " + std::to_string(level) +
	       ", below " + std::to_string(kReportConsoleLevel) +
	       ": the kernel would print no WARNING (and no lower-priority report) on the console, "
	       "and a kernel that warns would pass. Drop it; the rig boots with loglevel=6. For "
	       "more output, loglevel=7, debug or ignore_loglevel are fine";
}

} // namespace luo::host
