// SPDX-License-Identifier: GPL-2.0-only
//
// Where the kernel source comes from: Debian's linux-source-7.3 package
// (default) or a developer's own tree.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace luo::host {

struct KernelSource {
	std::filesystem::path tree;   // a source tree; never modified by the rig
	std::string identity;         // what the cache key hashes
	std::string label;            // for humans and reports
	bool pristine_copyable = false; // the rig owns `tree` and may copy it
};

// The package version the rig is written against, and the series it accepts.
inline constexpr const char *kDebianPackage = "linux-source-7.3";
inline constexpr const char *kPreferredVersion = "7.3.4-1~bpo13+1";
inline constexpr const char *kDebianSuite = "trixie-backports";

// Downloads (once) and unpacks (once) Debian's linux-source-7.3 with a private
// apt state, leaving the system's sources untouched.
KernelSource debian_source();

// A developer's tree, identified by git HEAD plus uncommitted changes, or by
// the size and mtime of every file when it is not a git checkout.
KernelSource local_source(const std::filesystem::path &dir);

// Picks the version to use from those the archive offers: the preferred one,
// else the newest 7.3.x.  Empty when none fits.  Exposed for tests.
std::string choose_version(const std::vector<std::string> &offered);

// The mirror URI of the system's Debian sources (first non-security entry).
std::string debian_mirror();

} // namespace luo::host
