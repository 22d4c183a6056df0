// SPDX-License-Identifier: GPL-2.0-only
//
// The step script `git bisect run` calls: run by sh against a stand-in for
// luo-rig, so the exit-code mapping is what git really gets.  And the search
// a series bisect makes over the prefixes of a series.
#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fstream>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

#include "host/cmd/bisect.hpp"
#include "host/cmd/bisect_series.hpp"
#include "host/kernel/mbox.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/process.hpp"

using namespace luo::host;
namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("shell_quote: sh reads every word back as it was", "[unit][bisect]")
{
	CHECK(shell_quote("plain/path-1.2") == "plain/path-1.2");
	CHECK(shell_quote("a b") == "'a b'");
	CHECK(shell_quote("it's") == "'it'\\''s'");
	CHECK(shell_quote("") == "''");
	std::string echoed = capture({"sh", "-c", "printf '%s|' " + join_command({"a b", "it's", "$x", "*"})});
	CHECK(echoed == "a b|it's|$x|*|\n");
}

TEST_CASE("bisect step: luo-rig's exit code becomes git bisect's", "[unit][bisect]")
{
	auto [rig_exit, git_exit] = GENERATE(table<int, int>({
		{0, 0},     // pass: good
		{1, 1},     // fail: bad
		{2, 125},   // kernel did not build, or a run was setup: skip the commit
		{3, 125},   // a run was infra: no verdict, so neither good nor bad
		{4, 128},   // anything else: abort, never guess
	}));
	fs::path dir = fs::temp_directory_path() / ("luo-rig-bisect-" + std::to_string(getpid()));
	fs::remove_all(dir);
	fs::create_directories(dir);
	// A git tree for `git rev-parse HEAD`, and a stand-in for luo-rig.
	capture({"git", "-C", dir.string(), "init", "-q"});
	capture({"git", "-C", dir.string(), "-c", "user.name=t", "-c", "user.email=t@t", "commit",
		 "-q", "--allow-empty", "-m", "one commit"});
	write_file_atomic(dir / "fake-rig", "#!/bin/sh\necho \"args: $*\"\nexit " +
						    std::to_string(rig_exit) + "\n");
	fs::permissions(dir / "fake-rig", fs::perms::owner_exec, fs::perm_options::add);
	auto script = bisect_step_script({(dir / "fake-rig").string(), "repro", "a b/c"}, dir / "steps");
	fs::create_directories(dir / "steps");
	write_file_atomic(dir / "step.sh", script);

	int status = std::system(("cd " + shell_quote(dir.string()) + " && sh step.sh").c_str());
	REQUIRE(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == git_exit);
	auto log = read_file(dir / "steps" / "steps.log");
	CHECK_THAT(log, ContainsSubstring("args: repro a b/c --out " + (dir / "steps").string() + "/"));
	CHECK_THAT(log, ContainsSubstring("one commit"));
	CHECK_THAT(log, ContainsSubstring("luo-rig exit " + std::to_string(rig_exit)));
	fs::remove_all(dir);
}

namespace {

// A series whose prefix k fails from `culprit` on, with some prefixes that
// cannot be judged.
SeriesSearch walk(int n, int culprit, std::set<int> unjudged = {})
{
	return search_first_bad(0, n, [&](int k) {
		if (unjudged.count(k))
			return StepVerdict::skip;
		return k >= culprit ? StepVerdict::bad : StepVerdict::good;
	});
}

} // namespace

TEST_CASE("series bisect: the first failing prefix, in log2 steps", "[unit][bisect]")
{
	for (int n : {1, 2, 3, 7, 16, 33})
		for (int culprit = 1; culprit <= n; culprit++) {
			auto r = walk(n, culprit);
			INFO("n " << n << " culprit " << culprit);
			CHECK(r.first_bad == culprit);
			CHECK(r.could_be.empty());
			// Never the ends, which the caller has judged, never twice.
			std::set<int> seen(r.tested.begin(), r.tested.end());
			CHECK(seen.size() == r.tested.size());
			CHECK_FALSE(seen.count(0));
			CHECK_FALSE(seen.count(n));
			int most = 0;
			while ((1 << most) < n)
				most++;
			CHECK(static_cast<int>(r.tested.size()) <= most);
		}
}

TEST_CASE("series bisect: a prefix that cannot be judged is stepped around", "[unit][bisect]")
{
	// The middle does not build: its neighbours still decide.
	auto r = walk(8, 6, {4});
	CHECK(r.first_bad == 6);
	CHECK(std::count(r.tested.begin(), r.tested.end(), 4) == 1);

	// The patch just before the culprit cannot be judged: the culprit is
	// either of the two, and the answer says so instead of guessing.
	r = walk(8, 6, {5});
	CHECK(r.first_bad == -1);
	CHECK(r.could_be == std::vector<int>{5, 6});

	// Nothing between the ends can be judged: every patch is a candidate.
	r = walk(4, 2, {1, 2, 3});
	CHECK(r.first_bad == -1);
	CHECK(r.could_be == std::vector<int>{1, 2, 3, 4});
}

TEST_CASE("series bisect: a step's patch list keeps every patch, and a clash of names too",
	  "[unit][bisect]")
{
	fs::path dir = fs::temp_directory_path() / ("luo-rig-prefix-" + std::to_string(getpid()));
	fs::remove_all(dir);
	// Two --patches directories that both hold a 0001-fix.patch; the
	// second came from a mailbox and says so.
	for (std::string d : {"a", "b"})
		fs::create_directories(dir / d);
	write_file_atomic(dir / "a" / "0001-fix.patch", "patch from a\n");
	write_file_atomic(dir / "a" / "0002-more.patch", "second of a\n");
	write_file_atomic(dir / "b" / "0001-fix.patch", "patch from b\n");
	write_file_atomic(dir / "b" / "0001-fix.patch.origin", "patch 1/1 \"fix\" of list.mbox");
	std::vector<fs::path> patches = {dir / "a" / "0001-fix.patch", dir / "a" / "0002-more.patch",
					 dir / "b" / "0001-fix.patch"};

	auto two = series_prefix(dir / "steps", patches, 2);
	CHECK(two == dir / "steps" / "patches-2");
	// No clash: the names are the user's, so a step's kernel key is the
	// one a plain run of the same patches has.
	CHECK(read_file(two / "series") == "0001-fix.patch\n0002-more.patch\n");

	auto all = series_prefix(dir / "steps", patches, 3);
	auto listed = read_file(all / "series");
	CHECK(listed == "0001-fix.patch\n0002-more.patch\n3-0001-fix.patch\n");
	CHECK(read_file(all / "0001-fix.patch") == "patch from a\n");
	CHECK(read_file(all / "3-0001-fix.patch") == "patch from b\n");
	CHECK(mail_patch_origin(all / "3-0001-fix.patch") == "patch 1/1 \"fix\" of list.mbox");
	CHECK_FALSE(mail_patch_origin(all / "0001-fix.patch"));

	// A step made again (a second bisect in the same --out) holds only
	// what it lists now.
	write_file_atomic(two / "stale.patch", "from an earlier bisect\n");
	two = series_prefix(dir / "steps", patches, 2);
	CHECK_FALSE(fs::exists(two / "stale.patch"));
	fs::remove_all(dir);
}
