// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig bisect`: the first commit of a developer's series at which a case
// fails, found by `git bisect run` in a worktree of their tree, with
// incremental kernel builds.  Their checkout is never touched.  Without
// --good/--bad, the first patch of a posted series (--mbox, --series,
// --patches) instead: each step builds the tree with the first k patches.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "host/cmd/repro.hpp"

namespace luo::host {

struct BisectConfig {
	ReproConfig repro;  // the case, its options, runs per commit; needs --kernel-src
	std::string good, bad;
};

struct BisectResult {
	std::string first_bad;   // full hash; for a series, "patch N/K (FILE)"
	std::string subject;     // its one-line summary
	std::filesystem::path steps_dir;  // one run directory per tested commit, steps.log
	bool series = false;     // the culprit is a patch, not a commit
};

// By commits when --good/--bad are given, else by the patches of the series.
BisectResult bisect(const BisectConfig &cfg);

// The search itself, for a series of patches: `test(k)` judges the tree
// with the first k patches.  The caller has seen k = good pass and k = bad
// fail; a step that cannot be judged (the prefix does not build, a run was
// infra or setup) is skipped, as `git bisect skip` does.
enum class StepVerdict { good, bad, skip };

struct SeriesSearch {
	int first_bad = -1;             // the first failing prefix, or -1
	std::vector<int> could_be;      // when skips hide it: every candidate
	std::vector<int> tested;        // in the order they ran
};

SeriesSearch search_first_bad(int good, int bad, const std::function<StepVerdict(int)> &test);

// The shell script `git bisect run` calls at each commit: luo-rig repro,
// its exit code mapped to git's (0 good, 1 bad, 125 skip: the commit does
// not build or a run was setup or infra, which says nothing about the
// kernel; anything else aborts).  Pure, for tests.
std::string bisect_step_script(const std::vector<std::string> &repro_argv,
			       const std::filesystem::path &steps_dir);

} // namespace luo::host
