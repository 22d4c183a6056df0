// SPDX-License-Identifier: GPL-2.0-only
//
// Running the tools the rig drives (apt-get, make, patch, qemu) through
// Boost.Process, with their output logged and optionally followed line by line.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace luo::host {

struct RunOptions {
	std::filesystem::path cwd;               // empty: inherit
	std::filesystem::path log;               // empty: output discarded
	std::map<std::string, std::string> env;  // added to the environment
	std::function<void(const std::string &)> on_line;
};

// Runs argv[0] (looked up in PATH) to completion; returns its exit status.
// Throws SetupError when the program cannot be found.
int run_command(const std::vector<std::string> &argv, const RunOptions &opts = {});

// Runs and returns standard output; throws SetupError, with the output's tail,
// when the command fails.
std::string capture(const std::vector<std::string> &argv, const RunOptions &opts = {});

// The last `lines` lines of a file, for error messages.
std::string tail_of(const std::filesystem::path &file, int lines = 25);

// One word for sh, quoted only when it needs to be.
std::string shell_quote(const std::string &word);
// A command line sh reads back as `argv`.
std::string join_command(const std::vector<std::string> &argv);

} // namespace luo::host
