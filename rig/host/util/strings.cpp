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

} // namespace luo::host
