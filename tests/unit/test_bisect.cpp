// SPDX-License-Identifier: GPL-2.0-only
//
// The step script `git bisect run` calls: run by sh against a stand-in for
// luo-rig, so the exit-code mapping is what git really gets.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include "host/cmd/bisect.hpp"
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
