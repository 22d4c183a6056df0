// SPDX-License-Identifier: GPL-2.0-only
#include "host/cmd/shell.hpp"

#include <algorithm>
#include <filesystem>

#include "core/contract.hpp"
#include "core/expand.hpp"
#include "host/kernel/fault_knobs.hpp"
#include "host/vm/calibration.hpp"
#include "host/util/errors.hpp"
#include "host/image/recipe.hpp"
#include "host/util/paths.hpp"
#include "host/run/planner.hpp"
#include "host/vm/qemu.hpp"
#include "host/run/suite.hpp"

namespace luo::host {

namespace fs = std::filesystem;

int run_shell(const ShellConfig &cfg)
{
	fs::path busybox = "/bin/busybox";
	if (!fs::exists(busybox))
		throw SetupError("/bin/busybox is missing: apt-get install busybox-static");
	KernelArtifact kernel = obtain_kernel(cfg.kernel);
	AccelChoice accel = choose_accel(cfg.accel);

	protocol::Plan plan;
	int devices = cfg.edu_devices;
	std::vector<core::Case> cases;
	if (!cfg.scenario.empty()) {
		cases = core::expand_files(scenario_files({cfg.scenario}), core::Contract::agreed());
		if (!cfg.case_pattern.empty())
			cases = filter_cases(std::move(cases), {cfg.case_pattern});
		std::vector<const core::Case *> ptrs;
		for (const auto &c : cases)
			ptrs.push_back(&c);
		if (!ptrs.empty()) {
			plan = make_batch(ptrs).plan;
			devices = std::max<int>(devices, plan.edu_devices.size());
		}
	}
	plan.edu_devices = edu_addresses(devices);
	fs::path dir = cache_root() / "shell";
	fs::create_directories(dir);
	write_initramfs(dir / "initrd.cpio", guest_image(guest_binary(), kernel.image,
							 protocol::plan_to_boot_lines(plan), busybox));
	VmSpec spec;
	spec.accel = accel.accel;
	spec.kernel = kernel.image;
	spec.initrd = dir / "initrd.cpio";
	spec.edu_devices = devices;
	spec.workdir = dir;
	spec.interactive = true;
	spec.extra_cmdline = calibration_args(spec.accel, spec.kernel);
	if (auto knobs = parse_fault_list(cfg.fault); !knobs.empty()) {
		check_fault_knobs(kernel.image, knobs);
		spec.extra_cmdline += (spec.extra_cmdline.empty() ? "" : " ") + fault_cmdline(knobs);
	}
	std::fprintf(stderr, "luo-rig shell: kernel %s, %s, %d edu devices, %zu planned cases\n",
		     kernel.release.c_str(), accel.reason.c_str(), devices, cases.size());
	return run_interactive(spec);
}

} // namespace luo::host
