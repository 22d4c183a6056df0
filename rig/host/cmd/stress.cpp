// SPDX-License-Identifier: GPL-2.0-only
#include "host/cmd/stress.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "host/run/execute.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"
#include "host/util/process.hpp"
#include "host/vm/qemu.hpp"

namespace luo::host {

namespace fs = std::filesystem;

namespace {

// The last console line that is not empty: where a stalled VM stopped.
std::string last_line(const fs::path &console)
{
	std::string tail = tail_of(console, 4), last;
	size_t at = 0;
	while (at < tail.size()) {
		size_t nl = tail.find('\n', at);
		std::string l = tail.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
		if (!l.empty() && l.back() == '\r')
			l.pop_back();
		if (!l.empty())
			last = l;
		if (nl == std::string::npos)
			break;
		at = nl + 1;
	}
	return last.empty() ? "(empty console)" : last;
}

} // namespace

int run_qemu_stress(const StressConfig &cfg)
{
	if (cfg.boots < 1 || cfg.jobs < 1 || cfg.devices < 0 || cfg.devices > max_edu_devices())
		throw SetupError("--qemu-stress: boots and jobs must be at least 1, devices 0 to " +
				 std::to_string(max_edu_devices()));
	KernelArtifact kernel = obtain_kernel(cfg.kernel);
	VmContext ctx = make_vm_context(kernel.image, choose_accel(cfg.accel).accel, cfg.qemu);
	ctx.edu_devices = cfg.devices;
	std::string version = qemu_version(cfg.qemu);
	if (version == "unknown")
		throw SetupError("--qemu " + cfg.qemu + ": not found or does not answer --version");
	fs::path dir = cache_root() / "qemu-stress" / std::to_string(getpid());
	fs::remove_all(dir);
	std::fprintf(stderr, "qemu-stress: %d VMs, %d at once on %u cores, %d edu devices, %s, %s\n",
		     cfg.boots, cfg.jobs, std::thread::hardware_concurrency(), cfg.devices,
		     version.c_str(), to_string(ctx.accel));

	std::atomic<int> next{0};
	std::mutex mu;
	std::map<std::string, int> counts;
	std::vector<std::string> failures;
	double seconds = 0;
	auto t0 = std::chrono::steady_clock::now();
	install_interrupt_handler();
	auto worker = [&] {
		for (;;) {
			int n = next++;
			if (n >= cfg.boots || interrupted())
				return;
			fs::path vm_dir = dir / ("vm-" + std::to_string(n + 1));
			Executed ex;
			std::string outcome, why;
			try {
				ex = execute_batch(kexec_only_batch(), ctx, vm_dir);
				outcome = to_string(ex.vm.status);
				why = ex.vm.why;
				if (ex.vm.status == VmResult::Status::hang)
					why += "; console stopped at: " + last_line(vm_dir / "console.log");
			} catch (const std::exception &e) {
				outcome = "error";
				why = e.what();
			}
			std::lock_guard lock(mu);
			counts[outcome]++;
			seconds += ex.vm.seconds;
			if (outcome != "done") {
				failures.push_back(vm_dir.filename().string() + ": " + outcome + ": " + why);
				std::fprintf(stderr, "qemu-stress: %s\n", failures.back().c_str());
			} else {
				fs::remove_all(vm_dir); // keep only what needs looking at
			}
		}
	};
	std::vector<std::thread> pool;
	for (int i = 0; i < cfg.jobs; i++)
		pool.emplace_back(worker);
	for (auto &t : pool)
		t.join();
	double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

	int total = 0;
	for (auto &[k, v] : counts)
		total += v;
	std::printf("%s, %d VMs (%d kernel boots each when done), %d at once, %d edu devices\n",
		    version.c_str(), total, 2, cfg.jobs, cfg.devices);
	for (auto &[k, v] : counts)
		std::printf("  %-12s %5d\n", k.c_str(), v);
	std::printf("  mean VM time %.1f s, wall %.0f s; logs of failed VMs in %s\n",
		    total ? seconds / total : 0.0, wall, dir.c_str());
	return counts["done"] == total ? kExitPass : kExitFail;
}

} // namespace luo::host
