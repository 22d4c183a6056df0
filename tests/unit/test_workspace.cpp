// SPDX-License-Identifier: GPL-2.0-only
//
// The incremental build workspace: what it trusts, and which files it makes
// look new to make.
#include <catch2/catch_test_macros.hpp>
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "host/kernel/workspace.hpp"
#include "host/util/atomic_file.hpp"

using namespace luo::host;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string &name)
{
	fs::path d = fs::temp_directory_path() / ("luo-rig-ws-" + name + "-" + std::to_string(getpid()));
	fs::remove_all(d);
	fs::create_directories(d);
	return d;
}

void put(const fs::path &p, const std::string &text)
{
	fs::create_directories(p.parent_path());
	std::ofstream(p) << text;
}

// Old enough that anything written now is clearly newer.
void age(const fs::path &p)
{
	fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::hours(24));
}

bool is_new(const fs::path &p)
{
	return fs::last_write_time(p) > fs::file_time_type::clock::now() - std::chrono::hours(1);
}

const char *kPatchA = "--- a/drivers/x.c\t2026-01-01\n"
		      "+++ b/drivers/x.c\t2026-01-02\n"
		      "@@ -1 +1 @@\n-int x = 1;\n+int x = 2;\n";
const char *kPatchB = "diff --git a/include/y.h b/include/y.h\n"
		      "new file mode 100644\n"
		      "--- /dev/null\n+++ b/include/y.h\n@@ -0,0 +1 @@\n+#define Y 1\n";

} // namespace

TEST_CASE("patched_paths: the files a diff touches, -p1, without /dev/null", "[unit][kernel]")
{
	CHECK(patched_paths(kPatchA) == std::vector<std::string>{"drivers/x.c"});
	CHECK(patched_paths(kPatchB) == std::vector<std::string>{"include/y.h"});
	CHECK(patched_paths("From: x\nSubject: y\n\n---\n a | 1 +\n").empty());
}

TEST_CASE("a workspace whose last build did not complete is wiped, never trusted",
	  "[unit][kernel]")
{
	auto root = scratch("state");
	fs::path dir = root / "ws";
	{
		Workspace ws(dir, root);
		CHECK_FALSE(ws.warm());
		ws.building();
		put(ws.obj() / ".config", "CONFIG_X=y\n");
		put(ws.obj() / "kernel/a.o", "half");
		// killed here: no completed()
	}
	{
		Workspace ws(dir, root);
		CHECK_FALSE(ws.warm());
		CHECK_FALSE(fs::exists(ws.obj() / "kernel/a.o"));
		ws.building();
		put(ws.obj() / ".config", "CONFIG_X=y\n");
		ws.completed();
	}
	{
		Workspace ws(dir, root);
		CHECK(ws.warm());
		CHECK(fs::exists(ws.obj() / ".config"));
	}
	// make stopped at a compile error: kbuild removed what it was writing.
	{
		Workspace ws(dir, root);
		ws.building();
		ws.failed();
	}
	CHECK(Workspace(dir, root).warm());
	// A completed state without objects is no workspace either.
	fs::remove_all(dir / "obj");
	CHECK_FALSE(Workspace(dir, root).warm());
	fs::remove_all(root);
}

// Two builds of one workspace (two CI jobs, or a build started ahead of
// the tests that need it) take turns: the second waits for the first to
// finish, then finds what it left, never a half-written tree.
TEST_CASE("a second build of a workspace waits until the first lets go", "[unit][kernel]")
{
	auto root = scratch("lock");
	fs::path dir = root / "ws";
	std::atomic<bool> second_in{false};
	std::thread second;
	{
		Workspace first(dir, root);
		first.building();
		put(first.obj() / ".config", "CONFIG_X=y\n");
		second = std::thread([&] {
			Workspace ws(dir, root);
			second_in = true;
			CHECK(ws.warm());
		});
		std::this_thread::sleep_for(std::chrono::milliseconds(300));
		CHECK_FALSE(second_in);
		first.completed();
	}
	second.join();
	CHECK(second_in);
	fs::remove_all(root);
}

TEST_CASE("workspaces of trees that are gone are swept, others kept", "[unit][kernel]")
{
	auto root = scratch("sweep");
	put(root / "tree/Makefile", "");
	{
		Workspace kept(root / "objdirs/a", root / "tree");
		Workspace gone(root / "objdirs/b", root / "deleted-tree");
	}
	sweep_orphan_workspaces(root / "objdirs");
	CHECK(fs::exists(root / "objdirs/a"));
	CHECK_FALSE(fs::exists(root / "objdirs/b"));
	CHECK_FALSE(fs::exists(root / "objdirs/b.tree"));
	fs::remove_all(root);
}

TEST_CASE("the patched copy follows the tree and the series; touched files look new",
	  "[unit][kernel]")
{
	auto root = scratch("sync");
	fs::path tree = root / "tree", copy = root / "ws" / "src", log = root / "log";
	put(tree / "drivers/x.c", "int x = 1;\n");
	put(tree / "kernel/z.c", "int z;\n");
	put(root / "p/a.patch", kPatchA);
	put(root / "p/b.patch", kPatchB);
	fs::create_directories(copy.parent_path());

	sync_patched_copy(tree, false, copy, {root / "p/a.patch", root / "p/b.patch"}, log);
	CHECK(read_file(copy / "drivers/x.c") == "int x = 2;\n");
	CHECK(fs::exists(copy / "include/y.h"));

	// Everything old; then the developer edits z.c and drops patch b.
	for (auto p : {"drivers/x.c", "kernel/z.c", "include/y.h"})
		age(copy / p);
	age(tree / "drivers/x.c");
	put(tree / "kernel/z.c", "int z = 3;\n");
	sync_patched_copy(tree, false, copy, {root / "p/a.patch"}, log);
	CHECK(read_file(copy / "kernel/z.c") == "int z = 3;\n");
	CHECK(is_new(copy / "kernel/z.c"));
	CHECK(read_file(copy / "drivers/x.c") == "int x = 2;\n");
	CHECK(is_new(copy / "drivers/x.c"));
	CHECK_FALSE(fs::exists(copy / "include/y.h"));

	// Patch a dropped too: x.c is pristine again, and newer than its object.
	age(copy / "drivers/x.c");
	sync_patched_copy(tree, false, copy, {}, log);
	CHECK(read_file(copy / "drivers/x.c") == "int x = 1;\n");
	CHECK(is_new(copy / "drivers/x.c"));
	fs::remove_all(root);
}

TEST_CASE("a touched file whose text make already compiled keeps its time; a changed one is new",
	  "[unit][kernel]")
{
	auto root = scratch("made");
	fs::path tree = root / "tree", copy = root / "ws" / "src", log = root / "log";
	put(tree / "drivers/x.c", "int x = 1;\n");
	put(root / "p/a.patch", kPatchA);
	put(root / "p/b.patch", kPatchB);
	fs::create_directories(copy.parent_path());
	auto time_of = [&](const char *f) { return fs::last_write_time(copy / f); };

	sync_patched_copy(tree, false, copy, {root / "p/a.patch", root / "p/b.patch"}, log);
	sources_in_use(copy); // make compiles this
	auto x_made = time_of("drivers/x.c"), y_made = time_of("include/y.h");

	// b dropped: x.c holds what make compiled, so its objects stand.
	sync_patched_copy(tree, false, copy, {root / "p/a.patch"}, log);
	CHECK(time_of("drivers/x.c") == x_made);
	CHECK_FALSE(fs::exists(copy / "include/y.h"));

	// No make ran on that (say the config was refused): b is back, and its
	// header is what make last compiled, so it is not new either.
	sync_patched_copy(tree, false, copy, {root / "p/a.patch", root / "p/b.patch"}, log);
	CHECK(time_of("include/y.h") == y_made);
	CHECK(time_of("drivers/x.c") == x_made);

	// The developer changes x.c under the patch: new text, new time.
	put(tree / "drivers/x.c", "int x = 1;\nint w;\n");
	sync_patched_copy(tree, false, copy, {root / "p/a.patch", root / "p/b.patch"}, log);
	CHECK(read_file(copy / "drivers/x.c") == "int x = 2;\nint w;\n");
	CHECK(time_of("drivers/x.c") > x_made);
	CHECK(is_new(copy / "drivers/x.c"));
	sources_in_use(copy);
	auto x_changed = time_of("drivers/x.c");

	// Patch a dropped: pristine text, never compiled as such: new.
	sync_patched_copy(tree, false, copy, {}, log);
	CHECK(read_file(copy / "drivers/x.c") == "int x = 1;\nint w;\n");
	CHECK(time_of("drivers/x.c") > x_changed);
	fs::remove_all(root);
}
