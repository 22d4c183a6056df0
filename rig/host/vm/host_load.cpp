// SPDX-License-Identifier: GPL-2.0-only
#include "host/vm/host_load.hpp"

#include <cstdio>
#include <filesystem>
#include <regex>

#include "host/util/atomic_file.hpp"

namespace luo::host {

std::string cpu_pressure_note(const std::string &psi)
{
	static const std::regex some(R"(^some avg10=[0-9.]+ avg60=([0-9.]+) avg300=([0-9.]+))",
				     std::regex::multiline);
	std::smatch m;
	if (!std::regex_search(psi, m, some))
		return "";
	char buf[160];
	std::snprintf(buf, sizeof(buf),
		      "; host CPU pressure then: %.1f %% of the last minute, %.1f %% of the last "
		      "five (tasks waiting for a CPU)",
		      std::stod(m[1].str()), std::stod(m[2].str()));
	return buf;
}

std::string host_cpu_pressure_note()
{
	constexpr const char *kPsi = "/proc/pressure/cpu";
	std::error_code ec;
	if (!std::filesystem::exists(kPsi, ec))
		return "";
	try {
		return cpu_pressure_note(read_file(kPsi));
	} catch (const std::exception &) {
		// A note on a hang's message: never worth losing the verdict for.
		return "";
	}
}

} // namespace luo::host
