// SPDX-License-Identifier: GPL-2.0-only
#include "host/cmd/bench.hpp"

#include <cstdio>
#include <filesystem>

#include "core/contract.hpp"
#include "core/expand.hpp"
#include "host/util/errors.hpp"
#include "host/run/execute.hpp"
#include "host/util/paths.hpp"
#include "host/run/planner.hpp"
#include "host/run/suite.hpp"

namespace luo::host {

namespace fs = std::filesystem;

namespace {

double timed(const Batch &b, const VmContext &ctx, const fs::path &dir, bool &ok)
{
	Executed ex = execute_batch(b, ctx, dir);
	ok = ex.vm.status == VmResult::Status::done;
	for (const auto &c : ex.outcome.cases)
		ok &= c.verdict == Verdict::pass;
	return ex.vm.seconds;
}

} // namespace

int run_bench(const BenchConfig &cfg)
{
	fs::path file = cfg.scenario.empty() ? source_root() / "scenarios/deps/kvm-gmem-memfd.json"
					     : fs::path(cfg.scenario);
	auto all = core::expand_files({file.string()}, core::Contract::agreed());
	std::vector<const core::Case *> cases;
	for (const auto &c : all)
		if (!c.refuses_kexec() && c.boots() == 1 && (int)cases.size() < cfg.cases)
			cases.push_back(&c);
	if (cases.empty())
		throw SetupError(file.string() + ": no case with exactly one kexec to benchmark");

	KernelArtifact kernel = obtain_kernel(cfg.kernel);
	VmContext ctx = make_vm_context(kernel.image, choose_accel(cfg.accel).accel);
	fs::path dir = cache_root() / "bench";

	std::fprintf(stderr, "bench: %zu cases from %s, kernel %s, %s\n", cases.size(),
		     file.c_str(), kernel.release.c_str(), to_string(ctx.accel));
	bool ok_floor = true, ok_batch = true, ok_single = true;
	Batch batched = make_batch(cases);
	// The floor: the very same QEMU command line, devices included, with a
	// plan that only kexecs.
	VmContext floor_ctx = ctx;
	floor_ctx.edu_devices = batched.plan.edu_devices.size();
	double floor = timed(kexec_only_batch(), floor_ctx, dir / "floor", ok_floor);
	double batch = timed(batched, ctx, dir / "batch", ok_batch);
	int singles = std::min<int>(cfg.singles, cases.size());
	double single = 0;
	for (int i = 0; i < singles; i++) {
		bool ok = true;
		single += timed(make_batch({cases[i]}), ctx, dir / ("single-" + std::to_string(i)), ok);
		ok_single &= ok;
	}
	single /= singles;
	double per_case_batched = batch / cases.size();

	std::printf("floor (boot + kexec + boot, init does nothing): %7.2f s\n", floor);
	std::printf("one case per boot (mean of %d):                 %7.2f s per case\n", singles,
		    single);
	std::printf("batched, %3zu cases in one VM:                   %7.2f s (%.3f s per case)\n",
		    cases.size(), batch, per_case_batched);
	std::printf("ratio one-per-boot / batched, per case:          %7.1fx\n",
		    single / per_case_batched);
	std::printf("ratio batched cycle / floor:                     %7.2fx\n", batch / floor);
	if (!ok_floor || !ok_batch || !ok_single) {
		std::fprintf(stderr, "bench: some runs did not pass (floor %s, batch %s, single %s); "
				     "the figures are not trustworthy; see %s\n",
			     ok_floor ? "ok" : "FAILED", ok_batch ? "ok" : "FAILED",
			     ok_single ? "ok" : "FAILED", dir.c_str());
		return kExitFail;
	}
	return kExitPass;
}

} // namespace luo::host
