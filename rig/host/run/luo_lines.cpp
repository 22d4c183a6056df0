// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/luo_lines.hpp"

#include <algorithm>
#include <sstream>
#include <string_view>

#include "host/run/console_frames.hpp"

namespace luo::host {

namespace {

// Messages of luo_file.c and luo_session.c that lose every session of the
// boot at once: the handler of a file is missing, or a session's files
// cannot be read back.
constexpr std::string_view kWholeState[] = {
	"No registered handler for compatible",
	"Failed to deserialize",
};

} // namespace

std::vector<std::string> luo_lines(const std::string &console)
{
	std::vector<std::string> out;
	std::istringstream in(console);
	std::string raw;
	while (std::getline(in, raw)) {
		while (!raw.empty() && (raw.back() == '\r' || raw.back() == ' '))
			raw.pop_back();
		std::string_view line = strip_console_prefix(raw);
		if (line.substr(0, 5) != "luo: ")
			continue;
		std::string text(line);
		if (std::find(out.begin(), out.end(), text) == out.end())
			out.push_back(std::move(text));
	}
	return out;
}

std::vector<std::string> luo_lines_about(const std::vector<std::string> &lines,
					 const std::set<std::string> &sessions, std::size_t max)
{
	std::vector<std::string> out;
	for (const auto &line : lines) {
		if (out.size() == max)
			break;
		bool about = std::any_of(std::begin(kWholeState), std::end(kWholeState),
					 [&](std::string_view m) { return line.find(m) != line.npos; });
		for (const auto &s : sessions)
			about = about || line.find("[" + s + "]") != line.npos;
		if (about)
			out.push_back(line);
	}
	return out;
}

} // namespace luo::host
