// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig run`: scenarios in, verdicts and reports out.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "host/kernel/kernel_build.hpp"
#include "host/run/baseline.hpp"
#include "host/run/planner.hpp"
#include "host/run/report.hpp"
#include "host/run/verdict.hpp"

namespace luo::host {

struct RunConfig {
	std::vector<std::string> scenarios;  // files or directories
	std::vector<std::string> cases;      // id patterns (--case)
	std::string contract = "agreed";
	std::string shard;                   // K/N
	KernelOptions kernel;
	std::string accel = "auto";
	std::string qemu = "qemu-system-x86_64";  // the QEMU binary (name or path)
	std::string fault;                   // luo_fault=... for the kernel under test
	std::string extra_cmdline;
	int jobs = 0;                        // VMs at once; 0: one per core
	std::string backend = "qemu";        // qemu | libvirt
	std::vector<std::string> connect;    // libvirt URI[=SLOTS], repeatable
	int libvirt_answer_seconds = 0;      // BackendOptions::answer_seconds
	int memory_mb = 2048;
	int vm_cpus = 0;                     // vCPUs per VM; 0: one under TCG, two under KVM
	PlanLimits limits;
	// How VMs serve their cases' sessions, taken in turn by the VMs
	// ("sequential", "round-robin", "random:SEED", "threads:N", ...);
	// empty: default_schedules().
	std::vector<std::string> schedules;
	bool bisect = true;
	bool allow_flaky = false;            // flaky cases do not fail the run
	std::filesystem::path out_dir;       // empty: luo-rig-runs/<time>
	std::filesystem::path json, junit;
	bool quiet = false;                  // no KTAP on stdout
	bool summary = true;                 // the summary table on stderr; off for
					     // the many small runs of repro/minimize
	std::filesystem::path baseline;      // results.json or known-failures file
	bool selftests = false;              // the kernel tree's LUO selftests too
	bool selftests_only = false;         // only them, no scenarios
	std::string inject;                  // "" or "fail-nth" (--inject)
	// --retrieve-copies: copies per object a retrieve's fail-nth walk
	// spends (protocol::Plan::retrieve_copies); -1: the default.
	int retrieve_copies = -1;
	// --from-kernel: every VM boots this bzImage first, and each kexec
	// goes into the kernel under test: an update from another kernel.
	std::filesystem::path from_kernel;
};

struct RunReport {
	std::vector<CaseResult> cases;
	RunSummary summary;
	int exit_code = 0;
	std::optional<BaselineDiff> baseline;  // with --baseline
};

// Refuses (SetupError, before anything is built or booted) a selftest
// option that cannot be honoured together with the rest of `cfg`.
void check_selftest_options(const RunConfig &cfg);

// Refuses an --inject mode the rig does not have, or one the kernel asked
// for cannot serve (SetupError).
void check_inject_options(const RunConfig &cfg);
// Under fail-nth with retrieve copies: refuses a case token that could meet
// a copy's (protocol::copy_token), naming the case.
void check_walked_tokens(const std::vector<core::Case> &cases);
// What --retrieve-copies gives fail-nth's RETRIEVE_FD walks when not set:
// enough for every point of a guest_memfd's retrieve (about 20 on the debug
// kernel), a spread of a KVM VM's (about 230), and no slower a run than 16
// (README, "Error paths").
inline constexpr int kDefaultRetrieveCopies = 32;

// Does everything; reports are written as the config asks.  Setup errors
// throw SetupError before any VM starts.
RunReport run_suite(const RunConfig &cfg);

// Exit code for a set of verdicts: 0 pass and 1 fail as in kselftest, 4
// (kselftest's skip) when nothing ran; 2 setup and 3 infra are luo-rig's own
// (kselftest uses them for xfail/xpass, which luo-rig never reports).
int exit_code_for(const std::vector<CaseResult> &cases, bool allow_flaky = false);

} // namespace luo::host
