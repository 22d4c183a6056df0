// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig repro ID`: one case, alone in its VM, N times; how often it fails
// and with which signature.
#pragma once

#include <map>
#include <string>

#include "host/run/run.hpp"

namespace luo::host {

struct ReproConfig {
	RunConfig run;     // kernel, contract, fault knobs, ...; `cases` is set here
	std::string id;    // a case id, or a glob that matches exactly one
	int runs = 5;
};

struct ReproResult {
	std::string id;
	// A run that ended infra (QEMU, libvirt) or setup (the guest gave up,
	// a knob not armed) said nothing about the kernel: neither a pass nor
	// a failure.
	int runs = 0, failed = 0, infra = 0, setup = 0;
	std::map<std::string, int> signatures;  // failure signature -> runs
	std::string first_failure_dir;          // a VM directory to look at
	std::string unjudged_why;               // the first infra or setup run's message
};

// The one case `id` names under the run's scenarios and contract; a
// SetupError when it names none or several.
core::Case resolve_case(const RunConfig &run, const std::string &id);

ReproResult reproduce(const ReproConfig &cfg);

// The lines `luo-rig repro` prints.
std::string render_repro(const ReproResult &r);

// 1 when a run failed; otherwise 2 when a run was setup, 3 when one was
// infra (no verdict: the passes alone cannot clear the case); 0 when every
// run passed.
int repro_exit_code(const ReproResult &r);

} // namespace luo::host
