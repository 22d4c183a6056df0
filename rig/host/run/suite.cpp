// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/suite.hpp"

#include <algorithm>
#include <filesystem>
#include <regex>

#include "host/util/errors.hpp"
#include "host/util/paths.hpp"

namespace luo::host {

namespace fs = std::filesystem;

std::vector<std::string> scenario_files(const std::vector<std::string> &named)
{
	std::vector<std::string> out;
	const auto args = named.empty()
				  ? std::vector<std::string>{(source_root() / "scenarios").string()}
				  : named;
	for (const auto &a : args) {
		if (fs::is_directory(a)) {
			std::vector<std::string> found;
			for (auto it = fs::recursive_directory_iterator(a); it != fs::end(it); ++it) {
				// Contract files live beside the scenarios, and are no scenarios.
				if (it->is_directory() && it->path().filename() == "contracts") {
					it.disable_recursion_pending();
					continue;
				}
				if (it->is_regular_file() && it->path().extension() == ".json" &&
				    it->path().filename() != "schema.json")
					found.push_back(it->path().string());
			}
			std::sort(found.begin(), found.end());
			if (found.empty())
				throw SetupError(a + ": no scenario files (*.json) in this directory");
			out.insert(out.end(), found.begin(), found.end());
		} else if (fs::is_regular_file(a)) {
			out.push_back(a);
		} else {
			throw SetupError(a + ": no such scenario file or directory");
		}
	}
	return out;
}

bool glob_match(const std::string &pattern, const std::string &text)
{
	// Iterative matcher with backtracking on the last '*'.
	size_t p = 0, t = 0, star = std::string::npos, mark = 0;
	while (t < text.size()) {
		if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
			p++;
			t++;
		} else if (p < pattern.size() && pattern[p] == '*') {
			star = p++;
			mark = t;
		} else if (star != std::string::npos) {
			p = star + 1;
			t = ++mark;
		} else {
			return false;
		}
	}
	while (p < pattern.size() && pattern[p] == '*')
		p++;
	return p == pattern.size();
}

std::vector<core::Case> filter_cases(std::vector<core::Case> cases,
				     const std::vector<std::string> &patterns)
{
	if (patterns.empty())
		return cases;
	std::vector<core::Case> out;
	for (auto &c : cases)
		for (const auto &p : patterns)
			if (glob_match(p, c.id)) {
				out.push_back(std::move(c));
				break;
			}
	return out;
}

std::vector<core::Case> shard_cases(std::vector<core::Case> cases, const std::string &shard)
{
	if (shard.empty())
		return cases;
	std::smatch m;
	static const std::regex form(R"((\d+)/(\d+))");
	if (!std::regex_match(shard, m, form))
		throw SetupError("--shard " + shard + ": expected K/N, e.g. 2/4");
	int k = std::stoi(m[1]), n = std::stoi(m[2]);
	if (n < 1 || k < 1 || k > n)
		throw SetupError("--shard " + shard + ": K must be between 1 and N");
	std::vector<core::Case> out;
	for (size_t i = 0; i < cases.size(); i++)
		if ((int)(i % n) == k - 1)
			out.push_back(std::move(cases[i]));
	return out;
}

} // namespace luo::host
