// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/contracts.hpp"

#include <algorithm>

#include "host/util/errors.hpp"
#include "host/util/paths.hpp"

namespace luo::host {

namespace fs = std::filesystem;

fs::path contracts_dir()
{
	return source_root() / "scenarios" / "contracts";
}

std::vector<std::string> contract_names()
{
	std::vector<std::string> out;
	std::error_code ec;
	for (const auto &e : fs::directory_iterator(contracts_dir(), ec))
		if (e.path().extension() == ".json" && e.path().stem() != "schema")
			out.push_back(e.path().stem().string());
	std::sort(out.begin(), out.end());
	return out;
}

namespace {

bool names_a_file(const std::string &arg)
{
	return arg.find('/') != std::string::npos ||
	       (arg.size() > 5 && arg.compare(arg.size() - 5, 5, ".json") == 0);
}

} // namespace

std::string contract_argument(const std::string &arg)
{
	return names_a_file(arg) ? fs::absolute(arg).string() : arg;
}

core::Contract resolve_contract(const std::string &arg)
{
	if (names_a_file(arg)) {
		if (!fs::is_regular_file(arg))
			throw SetupError("--contract " + arg + ": no such file");
		return core::load_contract(arg);
	}
	auto names = contract_names();
	if (std::find(names.begin(), names.end(), arg) == names.end()) {
		std::string known;
		for (const auto &n : names)
			known += (known.empty() ? "" : ", ") + n;
		throw SetupError("--contract " + arg + ": no such contract; the rig has " + known + " (" +
				 contracts_dir().string() + "), or give the path of a contract file");
	}
	return core::load_contract((contracts_dir() / (arg + ".json")).string());
}

} // namespace luo::host
