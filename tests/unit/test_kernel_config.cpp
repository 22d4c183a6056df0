// SPDX-License-Identifier: GPL-2.0-only
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <algorithm>

#include "host/util/errors.hpp"
#include "host/kernel/kernel_config.hpp"
#include "host/kernel/patches.hpp"

using namespace luo::host;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("fragments parse set, module, string and unset options", "[unit][config]")
{
	auto r = parse_fragment("f.config", "# comment\n\nCONFIG_A=y\nCONFIG_B=m\n"
					    "CONFIG_C=\"x y\"\n# CONFIG_D is not set\n");
	REQUIRE(r.size() == 4);
	CHECK(r[0].option == "CONFIG_A");
	CHECK(r[0].line == 3);
	CHECK(r[2].value == "\"x y\"");
	CHECK(r[3].value == "n");
	CHECK(r[3].line == 6);
}

TEST_CASE("a malformed fragment line names file and line", "[unit][config]")
{
	CHECK_THROWS_WITH(parse_fragment("kernel-config/x.config", "CONFIG_A=y\nLIVEUPDATE=y\n"),
			  ContainsSubstring("kernel-config/x.config:2") &&
				  ContainsSubstring("CONFIG_NAME=value"));
}

TEST_CASE("options that did not survive olddefconfig are all listed", "[unit][config]")
{
	auto wanted = parse_fragment("10-liveupdate.config",
				     "CONFIG_LIVEUPDATE=y\nCONFIG_KEXEC_FILE=y\n"
				     "CONFIG_LIVEUPDATE_MEMFD=y\n# CONFIG_X is not set\n");
	std::string dot = "CONFIG_KEXEC_FILE=y\n# CONFIG_LIVEUPDATE is not set\n";
	auto missing = verify_config(wanted, dot);
	REQUIRE(missing.size() == 2);
	CHECK(missing[0].wanted.option == "CONFIG_LIVEUPDATE");
	CHECK(missing[0].got == "n");
	CHECK(missing[1].wanted.option == "CONFIG_LIVEUPDATE_MEMFD");
	auto msg = describe_mismatches(missing, "my-tree");
	CHECK_THAT(msg, ContainsSubstring("CONFIG_LIVEUPDATE=y (asked by 10-liveupdate.config:1)"));
	CHECK_THAT(msg, ContainsSubstring("my-tree"));
}

TEST_CASE("a value that changed is a mismatch", "[unit][config]")
{
	auto wanted = parse_fragment("f", "CONFIG_NR_CPUS=4\n");
	auto missing = verify_config(wanted, "CONFIG_NR_CPUS=64\n");
	REQUIRE(missing.size() == 1);
	CHECK(missing[0].got == "64");
}

TEST_CASE("series files skip comments and blank lines", "[unit][patches]")
{
	auto s = parse_series("series", "# the series\n0001-a.patch\n\n0002-b.patch -p1 # two\n");
	REQUIRE(s.size() == 2);
	CHECK(s[1] == "0002-b.patch");
	CHECK_THROWS_AS(parse_series("series", "0001-a.patch -p0\n"), SetupError);
}

TEST_CASE("kernel flavours are the fragment folders, and an unknown one is refused",
	  "[unit][kconfig]")
{
	auto flavours = kernel_flavours();
	REQUIRE(flavours.size() >= 2);
	CHECK(flavours.front() == "default");
	CHECK(std::find(flavours.begin(), flavours.end(), "debug") != flavours.end());
	CHECK(flavour_fragments("default").empty());
	auto debug = flavour_fragments("debug");
	REQUIRE_FALSE(debug.empty());
	CHECK(debug.front().parent_path().filename() == "debug");
	CHECK_THROWS_AS(flavour_fragments("fast"), SetupError);
}
