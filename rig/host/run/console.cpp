// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/console.hpp"

#include <regex>
#include <sstream>
#include <utility>

namespace luo::host {

namespace {

// Order matters: the first pattern that matches a line names it.
const std::vector<std::pair<std::string, std::regex>> &patterns()
{
	static const std::vector<std::pair<std::string, std::regex>> p{
		{"KASAN", std::regex(R"(BUG: KASAN:)")},
		{"BUG", std::regex(R"(\bBUG: |kernel BUG at )")},
		{"Oops", std::regex(R"(\bOops: |Oops\[#)")},
		{"GPF", std::regex(R"(general protection fault)")},
		{"WARNING", std::regex(R"(\bWARNING: .* at |------------\[ cut here \]------------)")},
		{"lockdep", std::regex(R"(possible circular locking dependency|inconsistent lock state)")},
		{"hung-task", std::regex(R"(blocked for more than \d+ seconds)")},
		{"rcu-stall", std::regex(R"(rcu: INFO: rcu_\w+ (self-)?detected stall)")},
		{"panic", std::regex(R"(Kernel panic - not syncing)")},
		// Printed by luo-vmm from /sys/kernel/debug/kmemleak (debug flavour).
		{"kmemleak", std::regex(R"(unreferenced object 0x[0-9a-f]+ \(size \d+\))")},
		{"DEBUG_LIST", std::regex(R"(list_(add|del) corruption)")},
		{"debugobjects", std::regex(R"(ODEBUG: )")},
		{"RCU", std::regex(R"(suspicious RCU usage)")},
	};
	return p;
}

} // namespace

std::vector<ConsoleFinding> classify_console(const std::string &console)
{
	std::vector<ConsoleFinding> out;
	std::istringstream in(console);
	std::string l;
	int n = 0;
	while (std::getline(in, l)) {
		n++;
		if (!l.empty() && l.back() == '\r')
			l.pop_back();
		for (const auto &[kind, re] : patterns()) {
			if (std::regex_search(l, re)) {
				// "cut here" opens a WARNING; its own line follows.
				if (kind == "WARNING" && !out.empty() && out.back().kind == "WARNING" &&
				    out.back().line == n - 1)
					break;
				out.push_back({kind, n, l, kind + ": " + l});
				break;
			}
		}
	}
	return out;
}

std::string console_excerpt(const std::string &console, const ConsoleFinding &f, int before,
			    int after)
{
	std::istringstream in(console);
	std::string l, out;
	int n = 0;
	while (std::getline(in, l)) {
		n++;
		if (n >= f.line - before && n <= f.line + after)
			out += l + "\n";
	}
	return out;
}

} // namespace luo::host
