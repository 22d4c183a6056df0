// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig merge OUT_DIR RESULTS.json...`: the shards of one run (`--shard
// K/N`, one CI job each) joined into the reports a single run would have
// written.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace luo::host {

// Joins parsed results.json documents (each named by its file, for the
// messages).  Throws SetupError naming the file when the shards cannot be
// one run: another kernel, contract or fault set, or a case seen twice.
nlohmann::json merge_results(const std::vector<std::pair<std::string, nlohmann::json>> &inputs,
			     const std::filesystem::path &out_dir);

// Reads the files, merges them and writes results.json, report.html,
// results.ktap and results.xml into out_dir.  Returns the exit code: 0 when
// written (the shard jobs are the gate, not the merge), 2 on bad input.
int run_merge(const std::filesystem::path &out_dir, const std::vector<std::filesystem::path> &inputs);

} // namespace luo::host
