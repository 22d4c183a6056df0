// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig run --selftests`: the kernel tree's own LUO selftests in the rig's
// VMs, as many to a VM and a kexec as their session names allow.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "host/kernel/kernel_build.hpp"
#include "host/run/execute.hpp"
#include "host/selftests/build.hpp"

namespace luo::host {

// Builds (or finds cached) the selftests of the source `kernel` names.
// Never throws for the selftests' sake: a tree without them, without uapi
// headers, or with programs that do not compile gives skips.
SelftestBuild prepare_selftests(const KernelOptions &kernel);

struct SelftestRun {
	std::vector<CaseResult> cases;   // one per selftest, catalog order
	int vms = 0, boots = 0, infra_retried = 0;
	std::map<std::string, int> vms_per_host;
};

// Boots one VM per group of the built selftests under run_dir/selftests-N;
// a VM that QEMU lost, or that stalled before the runner's first event, runs
// once more on a fresh QEMU.
SelftestRun run_selftests(const SelftestBuild &build, const VmContext &ctx,
			  const std::filesystem::path &run_dir);

} // namespace luo::host
