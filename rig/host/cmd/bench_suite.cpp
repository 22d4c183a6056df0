// SPDX-License-Identifier: GPL-2.0-only
#include "host/cmd/bench_suite.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "core/contract.hpp"
#include "core/expand.hpp"
#include "host/run/execute.hpp"
#include "host/run/planner.hpp"
#include "host/run/run.hpp"
#include "host/run/suite.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"

namespace luo::host {

namespace fs = std::filesystem;

namespace {

struct Timed {
	double seconds = 0;
	int vms = 0, boots = 0, cases = 0, passed = 0;
};

// One whole `luo-rig run` of the default suite, in this process, silent.
Timed time_suite(const SuiteBenchConfig &cfg, const PlanLimits &limits, const fs::path &dir)
{
	RunConfig run;
	run.kernel = cfg.kernel;
	run.accel = cfg.accel;
	run.jobs = cfg.jobs;
	run.limits = limits;
	run.out_dir = dir;
	run.quiet = true;
	run.summary = false;
	fs::remove_all(dir);
	RunReport rep = run_suite(run);
	Timed t;
	t.seconds = rep.summary.wall_seconds;
	t.vms = rep.summary.vms;
	t.boots = rep.summary.boots;
	t.cases = rep.cases.size();
	for (const auto &c : rep.cases)
		t.passed += c.verdict == Verdict::pass;
	return t;
}

double floor_cycle(const VmContext &base, int devices, const fs::path &dir, bool &ok)
{
	VmContext ctx = base;
	ctx.edu_devices = devices;
	Executed ex = execute_batch(kexec_only_batch(), ctx, dir);
	ok &= ex.vm.status == VmResult::Status::done;
	return ex.vm.seconds;
}

} // namespace

int run_suite_bench(const SuiteBenchConfig &cfg)
{
	if (cfg.rounds < 2)
		throw SetupError("bench --suite --rounds " + std::to_string(cfg.rounds) +
				 ": the chaining planner needs at least 2 rounds per VM to differ "
				 "from the one that gives each round its own VM");
	if (cfg.jobs < 0)
		throw SetupError("bench --suite -j " + std::to_string(cfg.jobs) + ": expected 0 (one "
				 "per core) or more");
	auto cases = core::expand_files(scenario_files({}), core::Contract::agreed());
	std::vector<const core::Case *> ptrs;
	for (const auto &c : cases)
		ptrs.push_back(&c);
	// The planner before rounds were chained: a VM per kexec round, as
	// many VFIO devices as a VM then took.  Its VM count is the number of
	// kexec rounds the case count needs: the floor's.
	PlanLimits one;
	one.max_rounds = 1;
	one.max_edu = 57;
	int rounds = split_cases(ptrs, one).size();
	PlanLimits chained;
	chained.max_rounds = cfg.rounds;
	int parallel = cfg.jobs > 0 ? cfg.jobs : std::max(1u, std::thread::hardware_concurrency());

	KernelArtifact kernel = obtain_kernel(cfg.kernel);
	VmContext ctx = make_vm_context(kernel.image, choose_accel(cfg.accel).accel);
	fs::path dir = cache_root() / "bench-suite";
	std::fprintf(stderr, "bench --suite: %zu cases, %d kexec rounds at %d VFIO devices each, "
			     "%d VMs at once, kernel %s, %s\n",
		     cases.size(), rounds, one.max_edu, parallel, kernel.release.c_str(),
		     to_string(ctx.accel));

	bool ok = true;
	std::fprintf(stderr, "bench --suite: floor cycles\n");
	double bare = floor_cycle(ctx, 2, dir / "floor-2", ok);
	double full = floor_cycle(ctx, one.max_edu, dir / "floor-full", ok);
	std::fprintf(stderr, "bench --suite: the default suite, a VM per round\n");
	Timed old_run = time_suite(cfg, one, dir / "old");
	std::fprintf(stderr, "bench --suite: the default suite, up to %d rounds per VM\n", cfg.rounds);
	Timed new_run = time_suite(cfg, chained, dir / "new");

	double floor = rounds * bare / parallel;
	std::printf("floor cycle (QEMU start, boot, kexec, boot; init does nothing):\n");
	std::printf("  2 edu devices %6.2f s, %d edu devices %6.2f s\n", bare, one.max_edu, full);
	std::printf("floor: %d kexec rounds (at %d VFIO devices each) x %.2f s / %d VMs at once = "
		    "%.0f s\n", rounds, one.max_edu, bare, parallel, floor);
	auto line = [&](const char *what, const Timed &t) {
		std::printf("%-34s %4d VMs %4d boots %7.1f s  %5.2fx the floor  (%d/%d pass)\n", what,
			    t.vms, t.boots, t.seconds, t.seconds / floor, t.passed, t.cases);
	};
	line("old planner (a VM per round, 57):", old_run);
	char label[64];
	std::snprintf(label, sizeof(label), "new planner (<= %d rounds, %d):", cfg.rounds,
		      chained.max_edu);
	line(label, new_run);
	std::printf("old / new: %.2fx\n", old_run.seconds / new_run.seconds);
	if (!ok || old_run.passed != old_run.cases || new_run.passed != new_run.cases) {
		std::fprintf(stderr, "bench --suite: a floor VM or a case did not pass; the figures are "
				     "not trustworthy; see %s\n", dir.c_str());
		return kExitFail;
	}
	return kExitPass;
}

} // namespace luo::host
