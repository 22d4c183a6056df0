// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/run.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "host/vm/accel.hpp"
#include "host/util/atomic_file.hpp"
#include "core/contract.hpp"
#include "core/expand.hpp"
#include "host/util/errors.hpp"
#include "host/run/execute.hpp"
#include "host/run/judge.hpp"
#include "host/util/paths.hpp"
#include "host/util/progress.hpp"
#include "host/vm/qemu.hpp"
#include "host/run/suite.hpp"

namespace luo::host {

namespace fs = std::filesystem;

namespace {

fs::path default_run_dir()
{
	char stamp[32];
	std::time_t now = std::time(nullptr);
	std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
	return fs::path("luo-rig-runs") / (std::string(stamp) + "-" + std::to_string(getpid()));
}

struct Work {
	std::vector<const core::Case *> cases;
	int attempt = 1;
};

} // namespace

int exit_code_for(const std::vector<CaseResult> &cases)
{
	if (cases.empty())
		return kExitSkip;
	bool fail = false, infra = false;
	for (const auto &c : cases) {
		switch (c.verdict) {
		case Verdict::pass: break;
		case Verdict::infra: infra = true; break;
		case Verdict::setup: infra = true; break;
		default: fail = true;
		}
	}
	if (fail)
		return kExitFail;
	return infra ? kExitInfra : kExitPass;
}

RunReport run_suite(const RunConfig &cfg)
{
	auto t0 = std::chrono::steady_clock::now();
	auto contract = core::Contract::by_name(cfg.contract);
	if (!contract)
		throw SetupError("--contract " + cfg.contract + ": expected agreed or strict");

	if (cfg.limits.max_edu > max_edu_devices() || cfg.limits.max_edu < 1)
		throw SetupError("--max-devices " + std::to_string(cfg.limits.max_edu) +
				 ": a VM takes 1 to " + std::to_string(max_edu_devices()) +
				 " edu devices");
	if (cfg.limits.max_cases < 1)
		throw SetupError("--max-cases must be at least 1");
	auto files = scenario_files(cfg.scenarios.empty()
					    ? std::vector<std::string>{(source_root() / "scenarios").string()}
					    : cfg.scenarios);
	std::vector<core::Case> all = core::expand_files(files, *contract);
	all = shard_cases(filter_cases(std::move(all), cfg.cases), cfg.shard);
	if (all.empty())
		throw SetupError("no case matches --case/--shard in " + std::to_string(files.size()) +
				 " scenario file(s); `luo-rig plan FILES` lists the case ids");

	KernelArtifact kernel = obtain_kernel(cfg.kernel);
	AccelChoice accel = choose_accel(cfg.accel);
	std::fprintf(stderr, "luo-rig: %zu cases, kernel %s (%s%s), %s\n", all.size(),
		     kernel.release.c_str(), kernel.source.c_str(),
		     kernel.from_cache ? ", cached" : "", accel.reason.c_str());

	fs::path run_dir = cfg.out_dir.empty() ? default_run_dir() : cfg.out_dir;
	fs::create_directories(run_dir);
	run_dir = fs::canonical(run_dir);
	fs::path vmm = guest_binary();

	std::vector<const core::Case *> ptrs;
	for (const auto &c : all)
		ptrs.push_back(&c);

	std::mutex mu;
	std::deque<Work> queue;
	for (auto &group : split_cases(ptrs, cfg.limits))
		queue.push_back({group, 1});
	std::map<const core::Case *, CaseResult> results;
	std::atomic<int> vm_counter{0}, boots{0};
	size_t finished = 0;
	Progress prog("run");
	std::string extra = cfg.extra_cmdline;
	if (!cfg.fault.empty())
		extra += (extra.empty() ? "" : " ") + std::string("luo_fault=") + cfg.fault;

	VmContext ctx;
	ctx.kernel = kernel.image;
	ctx.vmm = vmm;
	ctx.accel = accel.accel;
	ctx.cmdline = extra;
	ctx.memory_mb = cfg.memory_mb;
	install_interrupt_handler();
	auto worker = [&] {
		for (;;) {
			Work w;
			{
				std::unique_lock lock(mu);
				if (queue.empty() || interrupted())
					return;
				w = std::move(queue.front());
				queue.pop_front();
			}
			Batch batch = make_batch(w.cases);
			int vm_no = ++vm_counter;
			fs::path dir = run_dir / ("vm-" + std::to_string(vm_no));
			Executed ex;
			try {
				ex = execute_batch(batch, ctx, dir, [&](const protocol::Event &ev) {
					if (ev.type == "boot")
						boots++;
					prog.update("vm-" + std::to_string(vm_no) + " boot " +
						    std::to_string(ev.boot) + " step " +
						    std::to_string(ev.step));
				});
			} catch (const std::exception &e) {
				// The rig failed, not the kernel: every case of the batch
				// says so, and the run goes on.
				ex.outcome.cases.clear();
				for (const auto *c : batch.cases) {
					CaseResult r;
					r.id = c->id;
					r.scenario = c->scenario;
					r.verdict = dynamic_cast<const SetupError *>(&e) ? Verdict::setup
											   : Verdict::infra;
					r.message = e.what();
					r.vm_dir = dir.string();
					ex.outcome.cases.push_back(std::move(r));
				}
			}
			BatchOutcome &bo = ex.outcome;

			std::unique_lock lock(mu);
			std::vector<const core::Case *> again;
			for (size_t i = 0; i < batch.cases.size(); i++) {
				auto &r = bo.cases[i];
				r.attempts = w.attempt;
				bool unsettled = r.verdict != Verdict::pass && r.verdict != Verdict::violation;
				if (bo.batch_failed && unsettled && batch.cases.size() > 1 && cfg.bisect &&
				    r.verdict != Verdict::infra)
					again.push_back(batch.cases[i]);
				else {
					results[batch.cases[i]] = std::move(r);
					finished++;
				}
			}
			// Bisect: the cases left unsettled by a failed batch run again in
			// halves until the guilty one stands alone.
			if (!again.empty()) {
				size_t half = (again.size() + 1) / 2;
				std::vector<const core::Case *> a(again.begin(), again.begin() + half);
				std::vector<const core::Case *> b(again.begin() + half, again.end());
				queue.push_front({b, w.attempt + 1});
				queue.push_front({a, w.attempt + 1});
			}
			prog.phase("run: " + std::to_string(finished) + "/" + std::to_string(all.size()) +
				   " cases judged, " + std::to_string(vm_counter) + " VMs");
		}
	};
	// Workers leave when the queue is empty, but a running batch may still
	// push halves: keep going until nothing is queued or running.
	for (;;) {
		std::vector<std::thread> pool;
		int jobs = cfg.jobs > 0 ? cfg.jobs : std::max(1u, std::thread::hardware_concurrency());
		for (int i = 0; i < jobs; i++)
			pool.emplace_back(worker);
		for (auto &t : pool)
			t.join();
		std::lock_guard lock(mu);
		if (queue.empty() || interrupted())
			break;
	}

	RunReport rep;
	for (const auto &c : all) {
		auto it = results.find(&c);
		if (it != results.end()) {
			rep.cases.push_back(std::move(it->second));
		} else {
			CaseResult r;
			r.id = c.id;
			r.scenario = c.scenario;
			r.verdict = Verdict::infra;
			r.message = "not run: the run was interrupted";
			rep.cases.push_back(std::move(r));
		}
	}
	auto &s = rep.summary;
	s.kernel_source = kernel.source;
	s.kernel_release = kernel.release.empty() ? kernel.source : kernel.release;
	s.kernel_key = kernel.key;
	s.kernel_from_cache = kernel.from_cache;
	s.accel = to_string(accel.accel);
	s.accel_reason = accel.reason;
	s.contract = cfg.contract;
	s.fault = cfg.fault.empty() ? "" : "luo_fault=" + cfg.fault;
	s.run_dir = run_dir.string();
	s.vms = vm_counter;
	s.boots = boots;
	s.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	rep.exit_code = exit_code_for(rep.cases);
	prog.finish(std::to_string(rep.cases.size()) + " cases, " + std::to_string(s.vms) + " VMs");

	std::string ktap = ktap_report(rep.cases, s);
	std::string json = json_report(rep.cases, s);
	write_file_atomic(run_dir / "results.ktap", ktap);
	write_file_atomic(run_dir / "results.json", json);
	write_file_atomic(run_dir / "results.xml", junit_report(rep.cases, s));
	if (!cfg.json.empty())
		write_file_atomic(cfg.json, json);
	if (!cfg.junit.empty())
		write_file_atomic(cfg.junit, junit_report(rep.cases, s));
	if (!cfg.quiet)
		std::cout << ktap << std::flush;
	std::cerr << summary_table(rep.cases, s) << "run directory: " << run_dir.string() << "\n";
	return rep;
}

} // namespace luo::host
