// SPDX-License-Identifier: GPL-2.0-only
#include "core/json_input.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/json_pos.hpp"

namespace luo::core {

std::string read_input(const std::string &path, const std::string &what)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw ScenarioError(path, {}, "", "cannot open " + what);
	std::ostringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

nlohmann::ordered_json parse_input(const std::string &text, const std::string &file)
{
	try {
		return nlohmann::ordered_json::parse(text);
	} catch (const nlohmann::ordered_json::parse_error &e) {
		auto at = locate_syntax_error(text, e.byte, e.what());
		throw ScenarioError(file, at.pos, at.pointer, "not valid JSON: " + at.message);
	}
}

std::string input_stem(const std::string &path)
{
	std::string base = path.substr(path.find_last_of('/') + 1);
	return base.substr(0, base.rfind(".json"));
}

bool valid_name(const std::string &s)
{
	if (s.empty() || s.size() > 48 || s == "-")
		return false;
	return std::all_of(s.begin(), s.end(), [](char c) {
		return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
	});
}

std::string join(const std::vector<std::string> &v, const char *sep)
{
	std::string out;
	for (const auto &s : v)
		out += (out.empty() ? "" : sep) + s;
	return out;
}

} // namespace luo::core
