// SPDX-License-Identifier: GPL-2.0-only
#include "protocol/kernel_report.hpp"

#include <array>

namespace luo::protocol {

bool starts_kernel_report(std::string_view text)
{
	static constexpr std::array<std::string_view, 9> starts{
		"WARNING:", "BUG:", "UBSAN:", "Oops", "kernel BUG at", "general protection fault",
		"INFO: task ", "INFO: rcu_", "Kernel panic",
	};
	for (auto s : starts)
		if (text.substr(0, s.size()) == s)
			return true;
	return false;
}

} // namespace luo::protocol
