// SPDX-License-Identifier: GPL-2.0-only
#include "host/selftests/catalog.hpp"

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "host/util/atomic_file.hpp"

namespace luo::host {

namespace fs = std::filesystem;

namespace {

const char *const kKnown[] = {"liveupdate", "luo_kexec_simple", "luo_multi_session",
			      "luo_stress_files", "luo_stress_sessions"};

std::vector<std::string> makefile_programs(const fs::path &dir)
{
	std::vector<std::string> out;
	if (!fs::exists(dir / "Makefile"))
		return out;
	static const std::regex line(R"(^\s*TEST_GEN_PROGS(_EXTENDED)?\s*\+?=\s*(.*)$)");
	std::istringstream in(read_file(dir / "Makefile"));
	std::string l;
	while (std::getline(in, l)) {
		std::smatch m;
		if (!std::regex_match(l, m, line))
			continue;
		std::istringstream words(m[2].str());
		std::string w;
		while (words >> w)
			if (std::find(out.begin(), out.end(), w) == out.end())
				out.push_back(w);
	}
	return out;
}

// The session names a program fixes at compile time: string macros whose
// name says SESSION.  Names built at run time ("many-test-%d") count by
// their format, which is what two programs would have to share to collide.
std::set<std::string> session_names(const fs::path &source)
{
	std::set<std::string> out;
	if (!fs::exists(source))
		return out;
	static const std::regex def(R"re(^\s*#\s*define\s+\w*SESSION\w*\s+"([^"]*)")re");
	static const std::regex fmt(R"re(snprintf\(\s*name\s*,[^,]*,\s*"([^"]*)")re");
	std::istringstream in(read_file(source));
	std::string l;
	while (std::getline(in, l)) {
		std::smatch m;
		if (std::regex_search(l, m, def) || std::regex_search(l, m, fmt))
			out.insert(m[1].str());
	}
	return out;
}

} // namespace

std::vector<SelftestInfo> selftest_catalog(const fs::path &tree)
{
	std::vector<SelftestInfo> out;
	auto add = [&](const std::string &subdir, const std::string &name, bool device) {
		SelftestInfo t;
		t.name = name;
		t.subdir = subdir;
		t.device = device;
		fs::path src = tree / subdir / (name + ".c");
		t.present = fs::exists(src);
		t.two_stage = t.present && read_file(src).find("luo_test(") != std::string::npos;
		out.push_back(std::move(t));
	};
	std::vector<std::string> names = makefile_programs(tree / kSelftestSubdir);
	for (const char *k : kKnown)
		if (std::find(names.begin(), names.end(), k) == names.end())
			names.push_back(k);
	for (const auto &n : names)
		add(kSelftestSubdir, n, false);
	// Upstream's VFIO selftests without the series have none: nothing is
	// listed as missing there.
	for (const auto &n : makefile_programs(tree / kVfioSelftestSubdir))
		if (n.find("liveupdate") != std::string::npos)
			add(kVfioSelftestSubdir, n, true);
	std::stable_partition(out.begin(), out.end(), [](const auto &t) { return !t.two_stage; });
	return out;
}

std::vector<std::vector<SelftestInfo>> selftest_groups(const std::vector<SelftestInfo> &tests,
							const fs::path &tree)
{
	std::vector<std::vector<SelftestInfo>> groups;
	std::vector<std::set<std::string>> taken;
	for (const auto &t : tests) {
		auto names = t.two_stage ? session_names(tree / t.subdir / (t.name + ".c"))
					 : std::set<std::string>{};
		size_t g = 0;
		for (; g < groups.size(); g++) {
			bool clash = std::any_of(names.begin(), names.end(),
						 [&](const auto &n) { return taken[g].count(n); });
			if (!clash)
				break;
		}
		if (g == groups.size()) {
			groups.emplace_back();
			taken.emplace_back();
		}
		groups[g].push_back(t);
		taken[g].insert(names.begin(), names.end());
	}
	return groups;
}

} // namespace luo::host
