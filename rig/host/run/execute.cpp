// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/execute.hpp"

#include <fstream>
#include <sstream>

#include "host/util/atomic_file.hpp"
#include "host/image/initramfs.hpp"

namespace luo::host {

namespace fs = std::filesystem;

Executed execute_batch(const Batch &batch, const VmContext &ctx, const fs::path &dir,
		       const std::function<void(const protocol::Event &)> &on_event)
{
	fs::create_directories(dir);
	std::string plan_json = protocol::plan_to_json(batch.plan);
	write_file_atomic(dir / "plan.json", plan_json);
	write_initramfs(dir / "initrd.cpio", guest_image(ctx.vmm, ctx.kernel, plan_json));

	VmSpec spec;
	spec.accel = ctx.accel;
	spec.kernel = ctx.kernel;
	spec.initrd = dir / "initrd.cpio";
	spec.extra_cmdline = ctx.cmdline;
	spec.edu_devices = ctx.edu_devices >= 0 ? ctx.edu_devices : (int)batch.plan.edu_devices.size();
	spec.memory_mb = ctx.memory_mb;
	spec.workdir = dir;
	Executed ex;
	ex.vm = run_vm(spec, timeouts_for(ctx.accel, batch.boots, batch.plan.steps.size()), on_event);
	// The image is large and can be rebuilt from plan.json.
	fs::remove(dir / "initrd.cpio");
	// No console at all when QEMU never started.
	std::string console = fs::exists(ex.vm.console_log) ? read_file(ex.vm.console_log) : "";
	ex.outcome = judge_batch(batch, ex.vm, console);
	return ex;
}

} // namespace luo::host
