// SPDX-License-Identifier: GPL-2.0-only
#include "host/util/strings.hpp"

namespace luo::host {

std::vector<std::string> split_commas(const std::string &list)
{
	std::vector<std::string> out;
	if (list.empty())
		return out;
	size_t at = 0;
	for (;;) {
		size_t comma = list.find(',', at);
		out.push_back(list.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
		if (comma == std::string::npos)
			return out;
		at = comma + 1;
	}
}

std::string xml_escape(const std::string &s)
{
	std::string o;
	for (char c : s) {
		switch (c) {
		case '&': o += "&amp;"; break;
		case '<': o += "&lt;"; break;
		case '>': o += "&gt;"; break;
		case '"': o += "&quot;"; break;
		case '\'': o += "&apos;"; break;
		default:
			if ((unsigned char)c < 0x20 && c != '\n' && c != '\t')
				o += ' ';
			else
				o += c;
		}
	}
	return o;
}

} // namespace luo::host
