// SPDX-License-Identifier: GPL-2.0-only
#include <catch2/catch_test_macros.hpp>

#include "host/util/errors.hpp"
#include "host/run/suite.hpp"

using namespace luo;

TEST_CASE("case patterns are globs over the whole id", "[unit][suite]")
{
	CHECK(host::glob_match("kvm-gmem/*", "kvm-gmem/p:vm,gmem/r:-"));
	CHECK(host::glob_match("*/r:gmem", "kvm-gmem/p:vm,gmem/r:gmem"));
	CHECK_FALSE(host::glob_match("*/r:gmem", "kvm-gmem/p:vm,gmem/r:gmem,vm"));
	CHECK(host::glob_match("a?c", "abc"));
	CHECK_FALSE(host::glob_match("kvm", "kvm-gmem/x"));
}

TEST_CASE("shards split the cases without overlap", "[unit][suite]")
{
	std::vector<core::Case> cases(10);
	for (int i = 0; i < 10; i++)
		cases[i].id = std::to_string(i);
	size_t total = 0;
	for (int k = 1; k <= 3; k++)
		total += host::shard_cases(cases, std::to_string(k) + "/3").size();
	CHECK(total == 10);
	CHECK(host::shard_cases(cases, "1/3")[1].id == "3");
	CHECK_THROWS_AS(host::shard_cases(cases, "4/3"), host::SetupError);
	CHECK_THROWS_AS(host::shard_cases(cases, "x"), host::SetupError);
}
