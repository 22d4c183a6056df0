// SPDX-License-Identifier: GPL-2.0-only
#include "host/cmd/bench_backends.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "host/run/execute.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"
#include "host/vm/backend.hpp"

namespace luo::host {

namespace fs = std::filesystem;

int run_backend_bench(const BackendBenchConfig &cfg)
{
	if (cfg.vms < 1 || cfg.devices < 0 || cfg.devices > max_edu_devices())
		throw SetupError("bench --backends: --vms must be at least 1 and --devices 0 to " +
				 std::to_string(max_edu_devices()));
	AccelChoice accel = choose_accel(cfg.accel);
	BackendOptions o;
	o.accel = accel.accel;
	o.jobs = 1;
	auto direct = open_backends(o);
	o.kind = "libvirt";
	o.connect = {cfg.connect};
	auto lv = open_backends(o);
	KernelArtifact kernel = obtain_kernel(cfg.kernel);
	VmContext ctx = make_vm_context(kernel.image, accel.accel);
	ctx.edu_devices = cfg.devices;
	fs::path dir = cache_root() / "bench-backends";
	std::fprintf(stderr, "bench: %d VMs per backend, one at a time, %d edu devices, kernel %s, %s\n",
		     cfg.vms, cfg.devices, kernel.release.c_str(), to_string(accel.accel));

	// Alternate the two so that a slower minute of the machine falls on
	// both; libvirt's first VM (kernel upload, capability probe) is told
	// apart from its steady state.
	double sum[2] = {0, 0}, first_lv = 0;
	int ok = 0;
	for (int i = 0; i < cfg.vms; i++) {
		for (int b = 0; b < 2; b++) {
			VmContext c = ctx;
			c.backend = b == 0 ? direct.front().get() : lv.front().get();
			fs::path d = dir / ((b == 0 ? "qemu-" : "libvirt-") + std::to_string(i));
			// Wall time around the whole VM: libvirt's uploads and
			// domain set-up are part of what it costs.
			auto t0 = std::chrono::steady_clock::now();
			Executed ex = execute_batch(kexec_only_batch(), c, d);
			double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
			ok += ex.vm.status == VmResult::Status::done;
			if (b == 1 && i == 0)
				first_lv = secs;
			sum[b] += secs;
		}
	}
	double q = sum[0] / cfg.vms, l = sum[1] / cfg.vms;
	std::printf("QEMU directly, mean per VM (boot, kexec, boot):   %7.2f s\n", q);
	std::printf("libvirt %s, mean per VM:           %7.2f s (first VM %.2f s)\n",
		    cfg.connect.c_str(), l, first_lv);
	std::printf("libvirt overhead per VM:                           %+7.2f s\n", l - q);
	std::printf("ratio libvirt / QEMU:                              %7.2fx\n", l / q);
	if (ok != 2 * cfg.vms) {
		std::fprintf(stderr, "bench: %d of %d VMs did not finish; the figures are not "
				     "trustworthy; see %s\n", 2 * cfg.vms - ok, 2 * cfg.vms, dir.c_str());
		return kExitFail;
	}
	return kExitPass;
}

} // namespace luo::host
