// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig minimize ID`: the smallest scenario that still fails the way the
// case does.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "host/cmd/repro.hpp"

namespace luo::host {

struct MinimizeResult {
	std::string id;                  // the case it started from
	std::string signature;           // the failure kept throughout
	int measured_runs = 0, measured_failed = 0;
	int runs_per_try = 1;            // > 1: the failure is flaky
	int objects_before = 0, objects_after = 0;
	int steps_before = 0, steps_after = 0;
	int tries = 0;                   // candidates booted
	std::vector<std::string> removed;  // the cuts kept, in order
	std::filesystem::path file;      // the minimal scenario
	std::string minimal_id;
};

// `cfg.runs` runs measure the failure first (default 3).
MinimizeResult minimize(const ReproConfig &cfg);

std::string render_minimize(const MinimizeResult &r);

} // namespace luo::host
