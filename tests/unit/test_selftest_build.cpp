// SPDX-License-Identifier: GPL-2.0-only
//
// A tree's selftests built, cached, and skipped with a reason when they are
// missing or do not compile; never an error of the run.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fstream>
#include <unistd.h>

#include "host/selftests/build.hpp"
#include "host/selftests/judge.hpp"
#include "selftest_tree.hpp"

using namespace luo::host;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

using luo::test::FakeTree;

namespace {

const BuiltSelftest &find(const SelftestBuild &b, const std::string &name)
{
	for (const auto &t : b.tests)
		if (t.info.name == name)
			return t;
	FAIL("no selftest " << name);
	throw 0;
}

} // namespace

TEST_CASE("selftests that are missing or do not build are skips with a reason",
	  "[unit][selftests]")
{
	FakeTree f;
	auto b = build_selftests(f.tree(), f.headers, f.cache);
	CHECK_FALSE(b.from_cache);

	const auto &good = find(b, "good");
	CHECK(good.built);
	CHECK_FALSE(good.info.two_stage);
	CHECK(fs::exists(b.bin_dir / "good"));

	const auto &staged = find(b, "staged");
	CHECK(staged.built);
	CHECK(staged.info.two_stage);

	const auto &broken = find(b, "broken");
	CHECK_FALSE(broken.built);
	CHECK_THAT(broken.skip_reason, ContainsSubstring("does not build"));
	CHECK_THAT(broken.skip_reason, ContainsSubstring("undeclared_thing"));
	CHECK_THAT(broken.skip_reason, ContainsSubstring((f.cache / b.key / "logs" / "broken.log").string()));
	CHECK(fs::exists(f.cache / b.key / "logs" / "broken.log"));

	// In the Makefile without a source, and upstream's programs the tree lacks.
	for (const char *absent : {"listed_only", "luo_kexec_simple", "liveupdate"}) {
		const auto &t = find(b, absent);
		CHECK_FALSE(t.built);
		CHECK_THAT(t.skip_reason, ContainsSubstring(std::string("has no ") + kSelftestSubdir +
							    "/" + absent + ".c"));
	}
	// Single-stage programs run first.
	CHECK(b.tests.front().info.name == "good");

	// A skip is reported as KTAP's SKIP with the reason, not as a failure.
	auto r = skipped_selftest("broken", broken.skip_reason);
	CHECK(r.verdict == Verdict::skip);
	CHECK(r.id == "selftests/broken");

	// The same sources, headers and compiler: the cache, failures included.
	auto again = build_selftests(f.tree(), f.headers, f.cache);
	CHECK(again.from_cache);
	CHECK(again.key == b.key);
	CHECK(find(again, "broken").skip_reason == broken.skip_reason);

	// Any source edit is a new build.
	FakeTree::write(f.dir / "broken.c", "int main(void) { return 0; }\n");
	auto fixed = build_selftests(f.tree(), f.headers, f.cache);
	CHECK(fixed.key != b.key);
	CHECK(find(fixed, "broken").built);
}

TEST_CASE("two-stage selftests whose session names collide get VMs of their own",
	  "[unit][selftests]")
{
	FakeTree f;
	FakeTree::write(f.dir / "other.c", "#define OTHER_SESSION_NAME \"x\"\nluo_test(\n");
	FakeTree::write(f.dir / "clash.c", "#define TEST_SESSION_NAME \"s\"\nluo_test(\n");
	std::vector<SelftestInfo> tests{{"good", false, true},
					{"staged", true, true},
					{"other", true, true},
					{"clash", true, true}};
	auto groups = selftest_groups(tests, f.tree());
	REQUIRE(groups.size() == 2);
	CHECK(groups[0].size() == 3);
	REQUIRE(groups[1].size() == 1);
	CHECK(groups[1][0].name == "clash");
}

TEST_CASE("a tree without the selftest directory skips every known selftest",
	  "[unit][selftests]")
{
	auto b = all_skipped("/nonexistent-tree", "linux has no tools/testing/selftests/liveupdate");
	REQUIRE(b.tests.size() == 5);
	for (const auto &t : b.tests) {
		CHECK_FALSE(t.built);
		CHECK_THAT(t.skip_reason, ContainsSubstring("has no"));
	}
}
