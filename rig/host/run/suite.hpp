// SPDX-License-Identifier: GPL-2.0-only
//
// From command-line arguments to the list of cases a run executes.
#pragma once

#include <string>
#include <vector>

#include "core/case.hpp"

namespace luo::host {

// Scenario files named directly, or every *.json below a named directory
// (schema.json excepted), in a stable order; none named: the default suite,
// scenarios/ of the source tree.
std::vector<std::string> scenario_files(const std::vector<std::string> &args);

// Keeps the cases whose id matches one of the patterns ('*' and '?' globs;
// a pattern without a glob must match the whole id).  No patterns: all.
std::vector<core::Case> filter_cases(std::vector<core::Case> cases,
				     const std::vector<std::string> &patterns);

// "K/N": the K-th of N interleaved shards (1-based), for CI jobs and hosts.
std::vector<core::Case> shard_cases(std::vector<core::Case> cases, const std::string &shard);

bool glob_match(const std::string &pattern, const std::string &text);

} // namespace luo::host
