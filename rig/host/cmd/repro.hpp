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
	int runs = 0, failed = 0, infra = 0;
	std::map<std::string, int> signatures;  // failure signature -> runs
	std::string first_failure_dir;          // a VM directory to look at
};

// The one case `id` names under the run's scenarios and contract; a
// SetupError when it names none or several.
core::Case resolve_case(const RunConfig &run, const std::string &id);

ReproResult reproduce(const ReproConfig &cfg);

// The lines `luo-rig repro` prints.
std::string render_repro(const ReproResult &r);

// 1 when a run failed, 3 when every run was infra, else 0.
int repro_exit_code(const ReproResult &r);

} // namespace luo::host
