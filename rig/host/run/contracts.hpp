// SPDX-License-Identifier: GPL-2.0-only
//
// `--contract NAME|FILE`: a name is a file of scenarios/contracts/, anything
// with a slash or ending in .json is a path.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/contract.hpp"

namespace luo::host {

std::filesystem::path contracts_dir();

// The names of the contracts that come with the rig, sorted.
std::vector<std::string> contract_names();

// Throws SetupError for a name or path that is not there, and the file's
// own error (file:line:column) for one that does not parse.
core::Contract resolve_contract(const std::string &name_or_path);

// The same --contract for a process that runs elsewhere (bisect's steps
// run in a worktree): a path made absolute, a name as it is.
std::string contract_argument(const std::string &name_or_path);

} // namespace luo::host
