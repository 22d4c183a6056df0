// SPDX-License-Identifier: GPL-2.0-only
//
// Running one selftest program as a child of PID 1 and collecting what it
// printed and how it ended.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace luo::guest {

struct ProgramRun {
	int exit_code = 0;     // when signal == 0
	int signal = 0;
	std::string output;    // stdout and stderr interleaved, maybe cut
	std::uint64_t usec = 0;
	std::string error;     // the runner could not start it at all
};

// Runs `argv` (argv[0] a path) with stdout and stderr on one pipe.  The
// two-stage selftests leave a daemon behind that holds their sessions; it
// closes the inherited pipe, so reading up to EOF does not wait for it.
// `env` adds NAME=VALUE entries to the runner's PATH=/selftests.
ProgramRun run_program(const std::vector<std::string> &argv,
		       const std::vector<std::string> &env = {});

// A line on the kernel console (through /dev/kmsg), so that the host can tell
// which program was running when the kernel complained.
void console_mark(const std::string &line);

} // namespace luo::guest
