// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/signature.hpp"

#include <regex>

#include "host/run/console.hpp"

namespace luo::host {

std::string failure_signature(const CaseResult &r)
{
	if (r.verdict == Verdict::pass)
		return {};
	// A kernel crash is its title: the same bug wherever and whenever it
	// hits, a different one for each function that trips.
	if (auto title = crash_title_of(r.message); !title.empty())
		return std::string(to_string(r.verdict)) + ": " + title;
	std::string what = r.message;
	// The same wrong step moves when the steps around it change (a
	// minimised case, another batch): its number is not part of the bug.
	static const std::regex step_no(R"(^step [0-9]+ )");
	what = std::regex_replace(what, step_no, "");
	// What the batch around it was is not part of the bug.
	if (auto cut = what.find(" (in a batch of"); cut != std::string::npos)
		what.erase(cut);
	if (auto cut = what.find(" (stalled again"); cut != std::string::npos)
		what.erase(cut);
	// Addresses, offsets, times and VM names differ between two hits of
	// one bug: "+0x5a/0x80", "[  3.1]", "120 s", "vm-12".
	static const std::regex noise(R"(\+0x[0-9a-f]+/0x[0-9a-f]+|0x[0-9a-f]+|\[\s*[0-9.]+\]|\b[0-9]+(\.[0-9]+)? s\b|vm-[0-9]+|PID: [0-9]+|CPU: [0-9]+)");
	what = std::regex_replace(what, noise, "…");
	return std::string(to_string(r.verdict)) + ": " + what;
}

} // namespace luo::host
