// SPDX-License-Identifier: GPL-2.0-only
#include "host/kernel/kernel_config.hpp"

#include <algorithm>
#include <map>
#include <regex>
#include <sstream>

#include "host/util/errors.hpp"
#include "host/util/paths.hpp"

namespace luo::host {

namespace {

const std::regex kSet(R"(^(CONFIG_[A-Za-z0-9_]+)=(.*)$)");
const std::regex kUnset(R"(^# (CONFIG_[A-Za-z0-9_]+) is not set$)");

std::string trim(std::string s)
{
	while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
		s.pop_back();
	size_t i = s.find_first_not_of(" \t");
	return i == std::string::npos ? "" : s.substr(i);
}

} // namespace

std::vector<ConfigRequest> parse_fragment(const std::filesystem::path &file,
					  const std::string &text)
{
	std::vector<ConfigRequest> out;
	std::istringstream in(text);
	std::string raw;
	int line = 0;
	while (std::getline(in, raw)) {
		line++;
		std::string l = trim(raw);
		std::smatch m;
		if (std::regex_match(l, m, kUnset)) {
			out.push_back({m[1], "n", file, line});
			continue;
		}
		if (l.empty() || l[0] == '#')
			continue;
		if (!std::regex_match(l, m, kSet) || m[2].length() == 0)
			throw SetupError(file.string() + ":" + std::to_string(line) +
					 ": not a config line: '" + l +
					 "'; write CONFIG_NAME=value or "
					 "'# CONFIG_NAME is not set'");
		out.push_back({m[1], m[2], file, line});
	}
	return out;
}

std::vector<ConfigMismatch> verify_config(const std::vector<ConfigRequest> &wanted,
					  const std::string &dot_config)
{
	std::map<std::string, std::string> have;
	std::istringstream in(dot_config);
	std::string l;
	std::smatch m;
	while (std::getline(in, l)) {
		if (std::regex_match(l, m, kSet))
			have[m[1]] = m[2];
	}
	std::vector<ConfigMismatch> out;
	for (const auto &w : wanted) {
		auto it = have.find(w.option);
		std::string got = it == have.end() ? "n" : it->second;
		if (got != w.value)
			out.push_back({w, got});
	}
	return out;
}

std::string describe_mismatches(const std::vector<ConfigMismatch> &missing,
				const std::string &source_label)
{
	std::ostringstream s;
	s << missing.size() << " requested kernel option(s) did not survive olddefconfig in "
	  << source_label << ":\n";
	for (const auto &mm : missing)
		s << "  " << mm.wanted.option << "=" << mm.wanted.value << " (asked by "
		  << mm.wanted.fragment.filename().string() << ":" << mm.wanted.line
		  << "), got " << (mm.got == "n" ? "not set" : mm.got) << "\n";
	s << "An option is dropped when the tree does not know it (no Live Update "
	     "support?) or when its dependencies are not met. Use a tree that has "
	     "these options, or add the missing dependencies to a fragment.";
	return s.str();
}

namespace {

std::vector<std::filesystem::path> fragments_in(const std::filesystem::path &dir)
{
	std::vector<std::filesystem::path> out;
	for (const auto &e : std::filesystem::directory_iterator(dir))
		if (e.path().extension() == ".config")
			out.push_back(e.path());
	std::sort(out.begin(), out.end());
	return out;
}

} // namespace

std::vector<std::filesystem::path> default_fragments()
{
	return fragments_in(source_root() / "kernel-config");
}

std::vector<std::string> kernel_flavours()
{
	std::vector<std::string> out{"default"};
	for (const auto &e : std::filesystem::directory_iterator(source_root() / "kernel-config"))
		if (e.is_directory() && e.path().filename() != "patches" && !fragments_in(e.path()).empty())
			out.push_back(e.path().filename().string());
	std::sort(out.begin() + 1, out.end());
	return out;
}

std::vector<std::filesystem::path> flavour_fragments(const std::string &flavour)
{
	if (flavour == "default")
		return {};
	auto known = kernel_flavours();
	if (std::find(known.begin(), known.end(), flavour) == known.end()) {
		std::string list;
		for (const auto &f : known)
			list += (list.empty() ? "" : ", ") + f;
		throw SetupError("--kernel-flavour " + flavour + ": no such flavour; the flavours are " +
				 list + " (each is a folder of *.config fragments under " +
				 (source_root() / "kernel-config").string() + ")");
	}
	return fragments_in(source_root() / "kernel-config" / flavour);
}

} // namespace luo::host
