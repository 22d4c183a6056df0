// SPDX-License-Identifier: GPL-2.0-only
//
// Building a tree's LUO selftests as static programs for the guest, cached by
// the content of their sources, the uapi headers and the compiler.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "host/selftests/catalog.hpp"

namespace luo::host {

struct BuiltSelftest {
	SelftestInfo info;
	bool built = false;
	std::string skip_reason;   // when !built: why it cannot run
};

struct SelftestBuild {
	std::filesystem::path tree;      // the source they come from (built_source())
	std::filesystem::path bin_dir;   // the programs, one file per built test
	std::vector<BuiltSelftest> tests;
	std::string key;
	bool from_cache = false;
};

// Builds every program of selftest_catalog(tree) with gcc -static against
// `headers` (an INSTALL_HDR_PATH) into cache_dir/<key>/.  A program the tree
// lacks or that does not compile is not an error: it comes back with a skip
// reason (and its compiler log in cache_dir/<key>/logs/).  Failures are
// cached too; they are as deterministic as successes.
SelftestBuild build_selftests(const std::filesystem::path &tree,
			      const std::filesystem::path &headers,
			      const std::filesystem::path &cache_dir);

// Every test skipped for one reason (no headers, no selftest directory...).
SelftestBuild all_skipped(const std::filesystem::path &tree, const std::string &reason);

} // namespace luo::host
