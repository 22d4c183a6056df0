// SPDX-License-Identifier: GPL-2.0-only
//
// ctest runs each test by handing its name to the Catch2 binary as a test
// spec, so a name Catch2 reads as something else never runs as written: one
// that starts with '-' is taken for an option and fails under ctest alone.
#include <catch2/catch_test_macros.hpp>
#include <filesystem>
#include <regex>

#include "host/util/atomic_file.hpp"
#include "host/util/paths.hpp"

using namespace luo;
namespace fs = std::filesystem;

TEST_CASE("no test is named so that ctest's test spec would misread it", "[unit]")
{
	const std::regex name(R"re(TEST_CASE\(\s*"([^"]*)")re");
	int seen = 0;
	for (const auto &e : fs::recursive_directory_iterator(host::source_root() / "tests")) {
		if (e.path().extension() != ".cpp")
			continue;
		std::string text = host::read_file(e.path());
		for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it) {
			std::string n = (*it)[1];
			INFO(e.path().filename().string() << ": \"" << n << "\"");
			seen++;
			CHECK_FALSE(n.empty());
			// An option, a tag expression, or a negation.
			CHECK(n.find_first_of("-[~") != 0);
		}
	}
	CHECK(seen > 100);
}
