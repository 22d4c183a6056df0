// SPDX-License-Identifier: GPL-2.0-only
//
// Bisect by commits on a scratch git tree: Debian's 7.3 with the rig's series
// as commits, then three more, one of which breaks guest_memfd's restore the
// way the drop-contents knob does.  Every commit after the first build is an
// incremental one in the same workspace; the first is a whole kernel of a tree
// no other test builds, so this one runs under ci/full only.
//
// Bisect by patches: the same three changes as a posted series on top of the
// default kernel.  Its steps build in the default kernel's own workspace, so
// ci/test runs it: it keeps the search, the step runs and their verdicts.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "host/cmd/bisect.hpp"
#include "host/kernel/kernel_source.hpp"
#include "host/kernel/patches.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/paths.hpp"
#include "host/util/process.hpp"

#include "e2e_support.hpp"

using namespace luo;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

std::string git(const fs::path &tree, std::vector<std::string> args)
{
	args.insert(args.begin(), {"git", "-C", tree.string(), "-c", "user.name=luo-rig e2e",
				   "-c", "user.email=e2e@luo-rig.invalid"});
	std::string out = host::capture(args);
	while (!out.empty() && out.back() == '\n')
		out.pop_back();
	return out;
}

void replace_in(const fs::path &file, const std::string &from, const std::string &to)
{
	std::string text = host::read_file(file);
	auto at = text.find(from);
	REQUIRE(at != std::string::npos);
	text.replace(at, from.size(), to);
	host::write_file_atomic(file, text);
}

// Three commits: a harmless one, the culprit, a harmless one; returns the
// culprit.  A harmless commit on each side makes the search clear a good
// step and a bad one on its way.
std::string commit_changes(const fs::path &tree)
{
	replace_in(tree / "kernel/liveupdate/luo_fault.c", "#define pr_fmt",
		   "/* Knob names are kept short: they appear on the command line. */\n"
		   "#define pr_fmt");
	git(tree, {"commit", "-q", "-a", "-m", "liveupdate: say why knob names are short"});
	// The knob's own test at freeze, not the other knobs' mentions of it.
	replace_in(tree / "virt/kvm/guest_memfd.c",
		   "if (liveupdate_fault(LIVEUPDATE_FAULT_DROP_CONTENTS))", "if (true)");
	git(tree, {"commit", "-q", "-a", "-m", "KVM: guest_memfd: skip restoring folios"});
	std::string culprit = git(tree, {"rev-parse", "HEAD"});
	replace_in(tree / "drivers/vfio/device_cdev.c", "#include",
		   "/* Live Update support lives at the end of this file. */\n#include");
	git(tree, {"commit", "-q", "-a", "-m", "vfio: point at the Live Update code"});
	return culprit;
}

const std::vector<std::string> kChanged = {"kernel/liveupdate/luo_fault.c",
					   "virt/kvm/guest_memfd.c", "drivers/vfio/device_cdev.c"};

// The three changes as a posted series against the default kernel: a git
// tree of just the files they touch, as the rig's series leaves them, and
// `git format-patch` of the three commits.
fs::path make_series()
{
	fs::path root = fs::path(LUO_RIG_BINARY_DIR) / "e2e-scratch" / "bisect-series";
	fs::remove_all(root);
	fs::path tree = root / "tree", out = root / "patches";
	for (const auto &f : kChanged) {
		fs::path from = host::debian_source().tree / f;
		if (fs::exists(from)) {
			fs::create_directories((tree / f).parent_path());
			fs::copy_file(from, tree / f);
		}
	}
	git(tree.parent_path(), {"init", "-q", tree.string()});
	std::vector<std::string> apply{"apply", "--allow-empty"};
	for (const auto &f : kChanged)
		apply.push_back("--include=" + f);
	for (const auto &p : host::read_series(host::source_root() / "kernel-config" / "patches")) {
		auto a = apply;
		a.push_back(p.string());
		git(tree, a);
	}
	git(tree, {"add", "-A"});
	git(tree, {"commit", "-q", "-m", "the default kernel's files"});
	commit_changes(tree);
	git(tree, {"format-patch", "-q", "-o", out.string(), "HEAD~3"});
	return out;
}

struct Scratch {
	fs::path tree;
	std::string good, culprit, bad;
};

Scratch make_scratch_tree()
{
	Scratch s;
	s.tree = fs::path(LUO_RIG_BINARY_DIR) / "e2e-scratch" / "bisect-tree";
	fs::remove_all(s.tree);
	fs::create_directories(s.tree.parent_path());
	host::capture({"cp", "-a", "--reflink=auto", host::debian_source().tree.string(),
		       s.tree.string()});
	// Debian's .gitignore ignores the whole top level (it belongs to the
	// packaging repository): cut that part off.
	std::string ignore = host::read_file(s.tree / ".gitignore");
	ignore = ignore.substr(0, ignore.find("# Debian packaging"));
	host::write_file_atomic(s.tree / ".gitignore", ignore);
	git(s.tree, {"init", "-q"});
	git(s.tree, {"add", "-A"});
	git(s.tree, {"commit", "-q", "-m", "Linux 7.3 (Debian linux-source-7.3)"});
	std::vector<std::string> am{"am", "-q"};
	for (const auto &p : host::read_series(host::source_root() / "kernel-config" / "patches"))
		am.push_back(p.string());
	git(s.tree, am);
	s.good = git(s.tree, {"rev-parse", "HEAD"});

	s.culprit = commit_changes(s.tree);
	s.bad = git(s.tree, {"rev-parse", "HEAD"});
	return s;
}

// Each tested step ran the case in a VM; all but the first build started
// from the objects of the one before.  Returns how many steps ran.
int check_steps(const fs::path &steps_dir)
{
	int tested = 0, incremental = 0;
	std::set<std::string> keys;
	for (const auto &e : fs::recursive_directory_iterator(steps_dir)) {
		if (e.path().filename() != "results.json")
			continue;
		tested++;
		auto j = nlohmann::json::parse(host::read_file(e.path()));
		INFO(e.path().string());
		REQUIRE(j["cases"].size() == 1);
		auto key = j["summary"]["kernel"]["key"].get<std::string>();
		keys.insert(key);
		auto k = nlohmann::json::parse(
			host::read_file(host::cache_root() / "kernels" / key / "kernel.json"));
		incremental += k.value("incremental", false);
	}
	CHECK(keys.size() == static_cast<size_t>(tested)); // each step its own kernel
	CHECK(incremental >= tested - 1);
	return tested;
}

} // namespace

TEST_CASE("bisect names the patch of a series that broke a handler, on incremental builds",
	  "[e2e][bisect]")
{
	fs::path series = make_series();
	host::BisectConfig cfg;
	cfg.repro.id = "kvm-gmem/p:vm,gmem/r:gmem";
	cfg.repro.run.scenarios = {(host::source_root() / "scenarios/deps/kvm-gmem.json").string()};
	cfg.repro.run.kernel.patch_dirs = {series};
	cfg.repro.run.out_dir = fs::path(LUO_RIG_BINARY_DIR) / "e2e-runs" / "bisect-series";
	fs::remove_all(cfg.repro.run.out_dir);
	cfg.repro.runs = 1;
	auto r = host::bisect(cfg);
	CHECK(r.series);
	CHECK_THAT(r.first_bad, ContainsSubstring("patch 2/3 (0002-"));
	CHECK(r.subject == "KVM: guest_memfd: skip restoring folios");

	// Both ends, then 1 (good) and 2 (bad): four steps, each with exactly
	// its prefix of the series.
	CHECK(check_steps(r.steps_dir) == 4);
	for (int k = 0; k <= 3; k++) {
		auto listed = host::read_series(r.steps_dir / ("patches-" + std::to_string(k)));
		CHECK(listed.size() == static_cast<size_t>(k));
	}
	std::string log = host::read_file(r.steps_dir / "steps.log");
	CHECK_THAT(log, ContainsSubstring("no patch of the series: good"));
	CHECK_THAT(log, ContainsSubstring("up to patch 1/3"));
	CHECK_THAT(log, ContainsSubstring("up to patch 3/3"));
}

TEST_CASE("bisect names the commit that broke a handler, on incremental builds",
	  "[e2e][bisect][sized]")
{
	if (!e2e::full_size())
		SKIP("a whole kernel of a scratch tree: ci/full runs it; ci/test bisects the same "
		     "changes as a series");
	Scratch s = make_scratch_tree();

	host::BisectConfig cfg;
	cfg.repro.id = "kvm-gmem/p:vm,gmem/r:gmem";
	cfg.repro.run.scenarios = {(host::source_root() / "scenarios/deps/kvm-gmem.json").string()};
	cfg.repro.run.kernel.kernel_src = s.tree;
	cfg.repro.run.out_dir = fs::path(LUO_RIG_BINARY_DIR) / "e2e-runs" / "bisect";
	fs::remove_all(cfg.repro.run.out_dir);
	cfg.repro.runs = 1;
	cfg.good = s.good;
	cfg.bad = s.bad;
	auto r = host::bisect(cfg);
	CHECK(r.first_bad == s.culprit);
	CHECK(r.subject == "KVM: guest_memfd: skip restoring folios");

	// The developer's checkout is where it was, untouched; no worktree left.
	CHECK(git(s.tree, {"rev-parse", "HEAD"}) == s.bad);
	CHECK(git(s.tree, {"status", "--porcelain"}).empty());
	CHECK(git(s.tree, {"worktree", "list"}).find('\n') == std::string::npos);

	CHECK(check_steps(r.steps_dir) >= 3);
}
