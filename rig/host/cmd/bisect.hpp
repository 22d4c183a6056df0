// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig bisect`: the first commit of a developer's series at which a case
// fails, found by `git bisect run` in a worktree of their tree, with
// incremental kernel builds.  Their checkout is never touched.
#pragma once

#include <string>
#include <vector>

#include "host/cmd/repro.hpp"

namespace luo::host {

struct BisectConfig {
	ReproConfig repro;  // the case, its options, runs per commit; needs --kernel-src
	std::string good, bad;
};

struct BisectResult {
	std::string first_bad;   // full hash
	std::string subject;     // its one-line summary
	std::filesystem::path steps_dir;  // one run directory per tested commit, steps.log
};

BisectResult bisect(const BisectConfig &cfg);

// The shell script `git bisect run` calls at each commit: luo-rig repro,
// its exit code mapped to git's (0 good, 1 bad, 125 skip: the commit does
// not build or a run was setup or infra, which says nothing about the
// kernel; anything else aborts).  Pure, for tests.
std::string bisect_step_script(const std::vector<std::string> &repro_argv,
			       const std::filesystem::path &steps_dir);

} // namespace luo::host
