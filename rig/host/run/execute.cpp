// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/execute.hpp"

#include <fstream>
#include <sstream>

#include "host/kernel/fault_knobs.hpp"
#include "host/run/inject_report.hpp"
#include "host/util/atomic_file.hpp"
#include "host/vm/calibration.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"
#include "host/image/recipe.hpp"

namespace luo::host {

namespace fs = std::filesystem;

VmContext make_vm_context(const fs::path &kernel, Accel accel, const std::string &qemu)
{
	VmContext ctx;
	ctx.kernel = kernel;
	ctx.vmm = guest_binary();
	ctx.accel = accel;
	ctx.qemu = qemu;
	ctx.calibration = calibration_args(accel, kernel);
	return ctx;
}

std::string context_cmdline(const VmContext &ctx)
{
	std::string c;
	auto add = [&](const std::string &part) {
		if (!part.empty())
			c += (c.empty() ? "" : " ") + part;
	};
	add(ctx.calibration);
	add(ctx.cmdline);
	add(ctx.contract_cmdline);
	if (!ctx.faults.empty())
		add(fault_cmdline(ctx.faults));
	return c;
}

VmSpec vm_spec(const VmContext &ctx, const fs::path &dir, int edu_devices)
{
	VmSpec spec;
	spec.qemu = ctx.qemu;
	spec.accel = ctx.accel;
	spec.kernel = ctx.first_kernel.empty() ? ctx.kernel : ctx.first_kernel;
	spec.initrd = dir / "initrd.cpio";
	spec.extra_cmdline = context_cmdline(ctx);
	spec.edu_devices = edu_devices;
	spec.memory_mb = ctx.memory_mb;
	spec.cpus = ctx.cpus;
	spec.workdir = dir;
	return spec;
}

VmResult boot_vm(const VmContext &ctx, const VmSpec &spec, const Timeouts &t, const EventFn &on_event)
{
	return ctx.backend ? ctx.backend->run(spec, t, on_event) : run_vm(spec, t, on_event);
}

Executed execute_batch(const Batch &batch, const VmContext &ctx, const fs::path &dir,
		       const std::function<void(const protocol::Event &)> &on_event)
{
	fs::create_directories(dir);
	protocol::Plan plan = batch.plan;
	plan.leak_scan = ctx.leak_scan;
	plan.fail_nth = ctx.fail_nth;
	plan.retrieve_copies = ctx.fail_nth ? ctx.retrieve_copies : 0;
	plan.race = ctx.race;
	plan.gmem_frozen_err = ctx.gmem_frozen_err;
	plan.iommufd_seal_err = ctx.iommufd_seal_err;
	plan.iommufd_immutable_err = ctx.iommufd_immutable_err;
	plan.vfio_unmarked_err = ctx.vfio_unmarked_err;
	std::string plan_json = protocol::plan_to_json(plan);
	write_file_atomic(dir / "plan.json", plan_json);
	write_initramfs(dir / "initrd.cpio",
			guest_image(ctx.vmm, ctx.kernel, protocol::plan_to_boot_lines(plan)));

	VmSpec spec = vm_spec(ctx, dir, ctx.edu_devices >= 0 ? ctx.edu_devices
							     : (int)batch.plan.edu_devices.size());
	Executed ex;
	auto limits = timeouts_for(ctx.accel, batch.boots, batch.plan.steps.size(), ctx.step_weight);
	ex.vm = boot_vm(ctx, spec, limits, on_event);
	// The image is large and can be rebuilt from plan.json.
	fs::remove(dir / "initrd.cpio");
	// No console at all when QEMU never started.
	std::string console = fs::exists(ex.vm.console_log) ? read_file(ex.vm.console_log) : "";
	ex.outcome = judge_batch(batch, ex.vm, console);
	// A knob the kernel did not arm would make a green run a lie.
	int boots = 0;
	for (const auto &ev : ex.vm.events)
		boots += ev.type == protocol::EventType::boot;
	if (!ctx.faults.empty() && boots > 0) {
		auto missing = unconfirmed_knobs(console, ctx.faults, boots);
		if (!missing.empty())
			throw SetupError(unconfirmed_knob_message(console, missing.front(), boots,
								  ex.vm.console_log));
	}
	// So would a fail-nth run that injected nothing, unless a splat says
	// why the calls stopped: that report must not be lost under this one.
	if (ctx.fail_nth && ex.outcome.splats.empty())
		if (auto why = nothing_injected(ex.outcome.cases); !why.empty())
			throw SetupError(why + " (see " + ex.vm.console_log.string() + ")");
	if (ctx.race && ex.outcome.splats.empty())
		if (auto why = nothing_raced(batch.plan, ex.outcome.cases); !why.empty())
			throw SetupError(why + " (see " + ex.vm.console_log.string() + ")");
	// So would a contract profile the kernel did not take.
	for (const auto &line : ctx.contract_confirms)
		if (boots > 0 && console_lines_ending(console, line) < boots)
			throw SetupError("the kernel did not confirm the contract's \"kernel\" block: '" + line +
					 "' is not on the console of each of its " + std::to_string(boots) +
					 " boots (see " + ex.vm.console_log.string() + "), so '" +
					 ctx.contract_cmdline + "' did not make it follow the contract; "
					 "build it from kernel-config/patches, or drop the block from "
					 "the contract file if the kernel behaves this way by itself");
	return ex;
}

} // namespace luo::host
