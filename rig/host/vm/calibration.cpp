// SPDX-License-Identifier: GPL-2.0-only
#include "host/vm/calibration.hpp"

#include <regex>

#include "host/util/atomic_file.hpp"

namespace luo::host {

std::string lpj_arg(Accel accel, const std::string &cpuinfo, int hz)
{
	if (accel != Accel::tcg || hz <= 0)
		return "";
	static const std::regex mhz(R"(^cpu MHz\s*:\s*([0-9]+(\.[0-9]+)?))", std::regex::multiline);
	std::smatch m;
	if (!std::regex_search(cpuinfo, m, mhz))
		return "";
	double hz_cpu = std::stod(m[1].str()) * 1e6;
	if (hz_cpu < 1e8)
		return "";
	return "lpj=" + std::to_string((long long)(hz_cpu / hz));
}

int kernel_hz(const std::filesystem::path &bzimage)
{
	std::error_code ec;
	auto config = bzimage.parent_path() / "config";
	if (!std::filesystem::is_regular_file(config, ec))
		return 250;
	static const std::regex hz(R"(^CONFIG_HZ=([0-9]+)$)", std::regex::multiline);
	std::string text = read_file(config);
	std::smatch m;
	return std::regex_search(text, m, hz) ? std::stoi(m[1].str()) : 250;
}

std::string calibration_args(Accel accel, const std::filesystem::path &bzimage)
{
	if (accel != Accel::tcg)
		return "";
	return lpj_arg(accel, read_file("/proc/cpuinfo"), kernel_hz(bzimage));
}

} // namespace luo::host
