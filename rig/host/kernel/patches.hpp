// SPDX-License-Identifier: GPL-2.0-only
//
// Patch series in quilt style: a `series` file lists patches in order.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "host/util/errors.hpp"

namespace luo::host {

// A patch that does not apply: the input is wrong, not the build, so no
// retry from scratch can help.
struct PatchError : SetupError {
	using SetupError::SetupError;
};

// The patches of a directory: those its `series` file lists (blank lines and
// '#' comments skipped, quilt options after the name ignored), or, with no
// series file, every *.patch in name order.  A listed patch that does not
// exist is a SetupError naming series:line.
std::vector<std::filesystem::path> read_series(const std::filesystem::path &dir);

// Parses the text of a series file; exposed for tests.
std::vector<std::string> parse_series(const std::filesystem::path &series_file,
				      const std::string &text);

// Applies the patches to `tree` in order with `patch -p1 --fuzz=0` (as strict
// as `git am`: offsets are taken, differing context is not).  The first one that
// does not apply stops everything with a PatchError naming it (for a patch
// split from a mailbox: the mailbox, n/k and subject) and quoting what patch
// reported (the file, "Hunk #2 FAILED at 120").
void apply_patches(const std::filesystem::path &tree,
		   const std::vector<std::filesystem::path> &patches,
		   const std::filesystem::path &log);

} // namespace luo::host
