// SPDX-License-Identifier: GPL-2.0-only
//
// Bisect on a scratch git tree: Debian's 7.3 with the rig's series as
// commits, then three more (two in ci/test: see make_scratch_tree), one of which breaks guest_memfd's restore the
// way the drop-contents knob does.  Every commit after the first build is
// an incremental one in the same workspace.
#include <catch2/catch_test_macros.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "host/cmd/bisect.hpp"
#include "host/kernel/kernel_source.hpp"
#include "host/kernel/patches.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/paths.hpp"
#include "host/util/process.hpp"

#include "e2e_support.hpp"

using namespace luo;
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

	// Small (ci/test): the culprit right after the good commit, one harmless
	// commit after it; full (ci/full): a harmless commit before it too, so
	// that bisect must also clear a good commit on the way.
	if (e2e::full_size()) {
		replace_in(s.tree / "kernel/liveupdate/luo_fault.c", "#define pr_fmt",
			   "/* Knob names are kept short: they appear on the command line. */\n"
			   "#define pr_fmt");
		git(s.tree, {"commit", "-q", "-a", "-m", "liveupdate: say why knob names are short"});
	}
	// The knob's own test at freeze, not the other knobs' mentions of it.
	replace_in(s.tree / "virt/kvm/guest_memfd.c",
		   "if (liveupdate_fault(LIVEUPDATE_FAULT_DROP_CONTENTS))", "if (true)");
	git(s.tree, {"commit", "-q", "-a", "-m", "KVM: guest_memfd: skip restoring folios"});
	s.culprit = git(s.tree, {"rev-parse", "HEAD"});
	replace_in(s.tree / "drivers/vfio/device_cdev.c", "#include",
		   "/* Live Update support lives at the end of this file. */\n#include");
	git(s.tree, {"commit", "-q", "-a", "-m", "vfio: point at the Live Update code"});
	s.bad = git(s.tree, {"rev-parse", "HEAD"});
	return s;
}

} // namespace

TEST_CASE("bisect names the commit that broke a handler, on incremental builds",
	  "[e2e][bisect][sized]")
{
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

	// Each tested commit ran the case in a VM; all but the first build
	// started from the objects of the one before.
	int tested = 0, incremental = 0;
	for (const auto &e : fs::directory_iterator(r.steps_dir)) {
		fs::path results = e.path() / "run-1" / "results.json";
		if (!fs::exists(results))
			continue;
		tested++;
		auto j = nlohmann::json::parse(host::read_file(results));
		INFO(e.path().filename().string());
		REQUIRE(j["cases"].size() == 1);
		auto key = j["summary"]["kernel"]["key"].get<std::string>();
		auto k = nlohmann::json::parse(
			host::read_file(host::cache_root() / "kernels" / key / "kernel.json"));
		incremental += k.value("incremental", false);
	}
	CHECK(tested >= 3);
	CHECK(incremental >= tested - 1);
}
