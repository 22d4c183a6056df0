// SPDX-License-Identifier: GPL-2.0-only
//
// What a run tells the world: KTAP on stdout, JSON, JUnit XML and a table.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "host/run/verdict.hpp"
#include "host/util/strings.hpp"

namespace luo::host {

struct RunSummary {
	std::string kernel_source, kernel_release, kernel_key;
	bool kernel_from_cache = false;
	bool kernel_prebuilt = false;
	std::string accel, accel_reason, contract, fault;
	std::string qemu_version;
	std::string kernel_flavour = "default";
	std::string inject;      // --inject mode, "" for none
	// --from-kernel: the image each VM booted first, and its release.
	std::string from_kernel, from_release;
	int infra_retried = 0;   // cases whose VM died for infra reasons and ran again
	bool allow_flaky = false;
	std::string run_dir;
	double wall_seconds = 0;   // the whole run: kernel, VMs, judging
	// Its two parts: obtaining the kernel (a build, or a cache look-up) and
	// running the cases, so a cold kernel never passes for a slow suite.
	double kernel_seconds = 0;
	double cases_seconds = 0;
	int vms = 0;
	int boots = 0;        // kernels booted, counting kexecs
	std::map<std::string, int> vms_per_host;  // where the VMs ran
	// What the run suspects of the kernel beyond the verdicts
	// (run/handler_hint.hpp): said once, after the table.
	std::vector<std::string> hints;
};

std::string ktap_report(const std::vector<CaseResult> &cases, const RunSummary &s);
std::string json_report(const std::vector<CaseResult> &cases, const RunSummary &s);
std::string junit_report(const std::vector<CaseResult> &cases, const RunSummary &s);
std::string summary_table(const std::vector<CaseResult> &cases, const RunSummary &s);

} // namespace luo::host
