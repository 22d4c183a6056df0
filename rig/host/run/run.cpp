// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/run.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "core/expand.hpp"
#include "host/kernel/fault_knobs.hpp"
#include "host/run/contracts.hpp"
#include "host/run/execute.hpp"
#include "host/run/handler_hint.hpp"
#include "host/run/inject_report.hpp"
#include "host/run/history.hpp"
#include "host/run/judge.hpp"
#include "host/run/report_html.hpp"
#include "host/run/suite.hpp"
#include "host/selftests/run_selftests.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"
#include "host/util/process.hpp"
#include "host/util/progress.hpp"
#include "host/vm/accel.hpp"
#include "host/vm/console_level.hpp"
#include "host/vm/qemu.hpp"

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
	Schedule schedule;          // kept by its retries and bisected halves
	int attempt = 1;
	bool infra_retry = false;   // this VM replaces one that died for infra reasons
	bool moved = false;         // its host went away mid-run: rerun elsewhere
};

// Everything checked before the first boot: a bad option stops the run here
// with exit 2, never after minutes of VMs.
std::vector<core::Case> select_cases(const RunConfig &cfg, const core::Contract &contract)
{
	if (cfg.limits.max_edu > max_edu_devices() || cfg.limits.max_edu < 1)
		throw SetupError("--max-devices " + std::to_string(cfg.limits.max_edu) +
				 ": a VM takes 1 to " + std::to_string(max_edu_devices()) +
				 " edu devices");
	if (cfg.limits.max_cases < 1)
		throw SetupError("--max-cases must be at least 1");
	for (const auto &s : cfg.schedules)
		parse_schedule(s);
	if (cfg.limits.max_rounds < 1)
		throw SetupError("--rounds " + std::to_string(cfg.limits.max_rounds) +
				 ": a VM runs at least 1 kexec round; 1 gives each round its own VM");
	auto files = scenario_files(cfg.scenarios);
	std::vector<core::Case> all = core::expand_files(files, contract);
	all = shard_cases(filter_cases(std::move(all), cfg.cases), cfg.shard);
	if (all.empty())
		throw SetupError("no case matches --case/--shard in " + std::to_string(files.size()) +
				 " scenario file(s); `luo-rig plan FILES` lists the case ids");
	return all;
}

CaseResult not_run(const core::Case &c, Verdict v, const std::string &why, const fs::path &dir)
{
	CaseResult r;
	r.id = c.id;
	r.scenario = c.scenario;
	r.verdict = v;
	r.message = why;
	r.vm_dir = dir.string();
	return r;
}

// Runs one batch; whatever goes wrong in the rig ends as verdicts, never as
// an exception that takes the other VMs down.
BatchOutcome run_one(const Batch &batch, const VmContext &ctx, const fs::path &dir,
		     const std::function<void(const protocol::Event &)> &on_event)
{
	BatchOutcome out;
	auto fail_all = [&](Verdict v, BatchOutcome::Cause cause, const std::string &why) {
		out.cases.clear();
		for (const auto *c : batch.cases)
			out.cases.push_back(not_run(*c, v, why, dir));
		out.cause = cause;
		out.why = why;
	};
	try {
		out = execute_batch(batch, ctx, dir, on_event).outcome;
	} catch (const SetupError &e) {
		fail_all(Verdict::setup, BatchOutcome::Cause::guest_fatal, e.what());
	} catch (const InfraError &e) {
		fail_all(Verdict::infra, BatchOutcome::Cause::infra, e.what());
	} catch (const std::exception &e) {
		fail_all(Verdict::setup, BatchOutcome::Cause::guest_fatal,
			 std::string("internal error in luo-rig (a bug in the rig, not in the "
				     "kernel; please report it with ") +
				 dir.string() + "): " + e.what());
	}
	return out;
}

class Scheduler {
public:
	Scheduler(const RunConfig &cfg, const VmContext &ctx,
		  std::vector<std::unique_ptr<Backend>> &backends, const fs::path &run_dir, size_t total)
		: cfg_(cfg), ctx_(ctx), backends_(backends), run_dir_(run_dir), total_(total), prog_("run")
	{
	}

	void enqueue(std::vector<const core::Case *> group, const Schedule &schedule)
	{
		queue_.push_back({std::move(group), schedule});
	}

	void run_all()
	{
		// Workers leave when the queue is empty, but a running batch may
		// still push halves: keep going until nothing is queued or running.
		for (;;) {
			// Each backend's slots are its workers: the VMs spread over
			// the hosts by their slots.
			std::vector<std::thread> pool;
			for (auto &b : backends_)
				for (int i = 0; b->alive() && !retired_.count(b.get()) && i < b->slots(); i++)
					pool.emplace_back([this, &b] { worker(*b); });
			for (auto &t : pool)
				t.join();
			std::lock_guard lock(mu_);
			if (queue_.empty() || interrupted() || pool.empty())
				break;
		}
		history_.resolve(results_);
	}

	std::map<const core::Case *, CaseResult> &results() { return results_; }
	int vms() const { return vm_counter_; }
	int boots() const { return boots_; }
	int infra_retried() const { return infra_retried_; }
	const std::map<std::string, int> &vms_per_host() const { return per_host_; }
	// Why cases were left unrun when every backend died.
	std::string lost_why() const { return lost_why_; }
	Progress &progress() { return prog_; }

private:
	void worker(Backend &backend)
	{
		VmContext ctx = ctx_;
		ctx.backend = &backend;
		for (;;) {
			Work w;
			{
				std::unique_lock lock(mu_);
				if (queue_.empty() || interrupted() || !backend.alive() ||
				    retired_.count(&backend))
					return;
				w = std::move(queue_.front());
				queue_.pop_front();
			}
			Batch batch = make_batch(w.cases, assign_rounds(w.cases, cfg_.limits), w.schedule);
			int vm_no = ++vm_counter_;
			std::string vm = "vm-" + std::to_string(vm_no);
			fs::path dir = run_dir_ / vm;
			BatchOutcome bo = run_one(batch, ctx, dir, [&](const protocol::Event &ev) {
				if (ev.type == protocol::EventType::boot)
					boots_++;
				prog_.update(vm + " boot " + std::to_string(ev.boot) + " step " +
					     std::to_string(ev.step));
			});
			{
				std::lock_guard lock(mu_);
				per_host_[backend.host()]++;
				note_health(backend, bo, vm);
			}
			if (bo.connection_lost && !interrupted()) {
				move_elsewhere(w, bo, vm);
				return;
			}
			settle(w, batch, bo, vm, dir);
		}
	}

	// A host whose VMs fail to start again and again (a broken emulator,
	// a full disk) would turn every case it takes into infra: after two
	// such VMs in a row it takes no more, as long as another host is there
	// to take its work.
	void note_health(Backend &b, const BatchOutcome &bo, const std::string &vm)
	{
		bool broken = bo.cause == BatchOutcome::Cause::infra && bo.last_event.empty();
		int &n = infra_in_a_row_[&b];
		n = broken ? n + 1 : 0;
		if (n < 2 || retired_.count(&b))
			return;
		for (auto &other : backends_) {
			if (other.get() != &b && other->alive() && !retired_.count(other.get())) {
				retired_.insert(&b);
				std::fprintf(stderr, "\nluo-rig: %s: %s on %s failed to start two VMs in a "
						     "row (last: %s); it takes no more VMs in this run\n",
					     vm.c_str(), b.name().c_str(), b.host().c_str(), bo.why.c_str());
				return;
			}
		}
	}

	// The VM's host went away, not the guest: nothing it saw counts, and
	// the cases go back to the queue for the hosts still there.  This is
	// not the one infra retry a case gets: the VM never had its chance.
	void move_elsewhere(const Work &w, const BatchOutcome &bo, const std::string &vm)
	{
		std::lock_guard lock(mu_);
		infra_retried_ += w.cases.size();
		lost_why_ = bo.why;
		std::fprintf(stderr, "\nluo-rig: %s: %s; its %zu case(s) go to another connection\n",
			     vm.c_str(), bo.why.c_str(), w.cases.size());
		Work again = w;
		again.moved = true;
		queue_.push_front(std::move(again));
	}

	void settle(const Work &w, const Batch &batch, BatchOutcome &bo, const std::string &vm,
		    const fs::path &dir)
	{
		std::unique_lock lock(mu_);
		bool splat = bo.cause == BatchOutcome::Cause::splat;
		std::vector<std::string> signatures;
		for (const auto &s : bo.splats)
			signatures.push_back(s.signature);
		std::vector<const core::Case *> again;
		bool fresh = false;  // again on a fresh QEMU (infra's one retry), not bisected
		for (size_t i = 0; i < batch.cases.size(); i++) {
			const auto *c = batch.cases[i];
			auto &r = bo.cases[i];
			r.attempts = w.attempt;
			r.infra_retried = w.infra_retry || w.moved;
			history_.note_attempt(c, w.attempt, batch.cases.size(), signatures);
			auto move = next_move(bo, r, batch.cases.size(), w.infra_retry, cfg_.bisect);
			if (move != NextMove::settle && !interrupted()) {
				again.push_back(c);
				fresh |= move == NextMove::retry_fresh;
			} else {
				if (bo.early_stall && r.verdict == Verdict::hang && w.infra_retry)
					r.message += " (stalled again on a fresh QEMU before the first "
						     "event: reproduced, not infra)";
				// Without bisection a splat stays on the batch that showed
				// it: every case of it is a crash, never "incomplete".
				if (splat && batch.cases.size() > 1 &&
				    (r.verdict == Verdict::incomplete || r.verdict == Verdict::crash)) {
					r.verdict = Verdict::crash;
					r.message += " (in a batch of " + std::to_string(batch.cases.size()) +
						     " cases, not bisected)";
				}
				results_[c] = std::move(r);
				finished_++;
			}
		}
		if (fresh) {
			// QEMU died or the boot stalled before anything ran: the same
			// cases once more on a fresh QEMU, counted; a second death
			// stays infra, a second stall is a hang.
			infra_retried_ += again.size();
			std::fprintf(stderr, "\nluo-rig: %s: %s; rerunning its %zu case(s) once\n",
				     vm.c_str(), bo.why.c_str(), again.size());
			queue_.push_front({again, w.schedule, w.attempt + 1, true});
		} else if (!again.empty()) {
			if (!bo.pinned) {
				std::string excerpt = bo.excerpt;
				if (excerpt.empty())
					excerpt = tail_of(dir / "console.log", 12);
				history_.add_failure({bo.cause, vm, bo.why, bo.last_event, excerpt, again,
						      bo.splats, w.attempt});
			}
			// Bisect: the unsettled cases run again in halves until the
			// guilty one stands alone.
			size_t half = (again.size() + 1) / 2;
			std::vector<const core::Case *> a(again.begin(), again.begin() + half);
			std::vector<const core::Case *> b(again.begin() + half, again.end());
			if (!b.empty())
				queue_.push_front({b, w.schedule, w.attempt + 1});
			queue_.push_front({a, w.schedule, w.attempt + 1});
		}
		prog_.phase("run: " + std::to_string(finished_) + "/" + std::to_string(total_) +
			    " cases judged, " + std::to_string(vm_counter_) + " VMs");
	}

	const RunConfig &cfg_;
	const VmContext &ctx_;
	std::vector<std::unique_ptr<Backend>> &backends_;
	fs::path run_dir_;
	size_t total_;
	Progress prog_;
	std::mutex mu_;
	std::deque<Work> queue_;
	std::map<const core::Case *, CaseResult> results_;
	RunHistory history_;
	std::atomic<int> vm_counter_{0}, boots_{0};
	int infra_retried_ = 0;
	size_t finished_ = 0;
	std::map<std::string, int> per_host_;
	std::map<const Backend *, int> infra_in_a_row_;
	std::set<const Backend *> retired_;
	std::string lost_why_;
};

void write_reports(const RunConfig &cfg, RunReport &rep, const fs::path &run_dir)
{
	const auto &s = rep.summary;
	std::string ktap = ktap_report(rep.cases, s);
	std::string json = json_report(rep.cases, s);
	std::string junit = junit_report(rep.cases, s);
	// The page and the baseline section both start from the JSON, so a
	// merge of shards renders exactly what a single run would.
	auto doc = nlohmann::json::parse(json);
	if (rep.baseline) {
		doc["baseline"] = rep.baseline->to_json();
		json = doc.dump(1);
	}
	write_file_atomic(run_dir / "results.ktap", ktap);
	write_file_atomic(run_dir / "results.json", json);
	write_file_atomic(run_dir / "results.xml", junit);
	try {
		write_file_atomic(run_dir / "report.html", html_report(doc));
	} catch (const std::exception &e) {
		// The page is a convenience: it must not cost the run its verdicts.
		std::cerr << "luo-rig: report.html not written: " << e.what() << "\n";
	}
	if (!cfg.json.empty())
		write_file_atomic(cfg.json, json);
	if (!cfg.junit.empty())
		write_file_atomic(cfg.junit, junit);
	if (!cfg.quiet)
		std::cout << ktap << std::flush;
	if (cfg.summary)
		std::cerr << summary_table(rep.cases, s) << "run directory: " << run_dir.string() << "\n";
	if (rep.baseline)
		std::cerr << rep.baseline->text();
}

} // namespace

void check_walked_tokens(const std::vector<core::Case> &cases)
{
	for (const auto &c : cases)
		for (const auto &s : c.steps)
			if (protocol::has_token(s.op) && s.token >= protocol::kMaxWalkedToken)
				throw SetupError("case " + c.id + ": token " + std::to_string(s.token) +
						 " of '" + s.object + "' is 2^40 or more, where fail-nth's "
						 "RETRIEVE_FD walk puts its copies' tokens; give the "
						 "scenario's objects smaller tokens, or add "
						 "--retrieve-copies 0");
}

void check_inject_options(const RunConfig &cfg)
{
	if (cfg.retrieve_copies >= 0 && cfg.inject != "fail-nth")
		throw SetupError("--retrieve-copies sets how many copies fail-nth's RETRIEVE_FD walks "
				 "spend: add --inject fail-nth, or drop it");
	if (cfg.retrieve_copies > (int)protocol::kMaxRetrieveCopies)
		throw SetupError("--retrieve-copies " + std::to_string(cfg.retrieve_copies) +
				 ": at most " + std::to_string(protocol::kMaxRetrieveCopies) +
				 " (0 runs every RETRIEVE_FD once, unarmed)");
	if (cfg.inject.empty())
		return;
	if (cfg.inject != "fail-nth" && cfg.inject != "race")
		throw SetupError("--inject '" + cfg.inject + "': the modes are fail-nth and race");
	if (cfg.selftests || cfg.selftests_only)
		throw SetupError("--inject " + cfg.inject + " works on the mock VMM's Live Update "
				 "calls, not the selftests': run the selftests without --inject");
	// Races need no kernel option: a lost folio is a wrong outcome on any
	// kernel, a use-after-free shows best on the debug flavour's KASAN.
	if (cfg.inject == "race")
		return;
	// fail-nth needs CONFIG_FAULT_INJECTION and its debugfs knobs, which
	// only the debug flavour's fragments turn on.  A prebuilt image says
	// nothing of its config here: the guest checks it at boot.
	if (cfg.kernel.flavour != "debug" && !cfg.kernel.kernel)
		throw SetupError("--inject fail-nth needs the debug flavour's fault-injection "
				 "options: add --kernel-flavour debug (or give --kernel an image "
				 "built with kernel-config/debug/55-fault-injection.config)");
}

void check_selftest_options(const RunConfig &cfg)
{
	if (cfg.selftests && cfg.selftests_only)
		throw SetupError("--selftests and --selftests-only together: --selftests adds the "
				 "kernel's selftests to the scenarios, --selftests-only runs them "
				 "alone; give one");
	if (!cfg.selftests && !cfg.selftests_only)
		return;
	const char *flag = cfg.selftests ? "--selftests" : "--selftests-only";
	// The selftests come from a source tree and its uapi headers; a bare
	// image says nothing about which tree that is.
	if (cfg.kernel.kernel && !cfg.kernel.kernel_src)
		throw SetupError(std::string(flag) + " with --kernel: the selftests are built from the "
				 "kernel's source; add --kernel-src with the tree the image was "
				 "built from");
	if (cfg.selftests && !cfg.shard.empty())
		throw SetupError("--selftests with --shard " + cfg.shard + ": every shard would run "
				 "the selftests again; run them once in a job of their own with "
				 "--selftests-only");
	if (!cfg.selftests_only)
		return;
	// Options that only mean something for scenarios would be dropped in
	// silence: refuse them.
	std::string dropped;
	if (!cfg.scenarios.empty())
		dropped = "the scenario(s) " + cfg.scenarios.front();
	else if (!cfg.cases.empty())
		dropped = "--case " + cfg.cases.front();
	else if (!cfg.shard.empty())
		dropped = "--shard " + cfg.shard;
	else if (cfg.contract != "agreed")
		dropped = "--contract " + cfg.contract;
	else if (cfg.limits.max_cases != PlanLimits{}.max_cases ||
		 cfg.limits.max_edu != PlanLimits{}.max_edu ||
		 cfg.limits.max_rounds != PlanLimits{}.max_rounds)
		dropped = "--max-cases/--max-devices/--rounds";
	else if (!cfg.schedules.empty())
		dropped = "--schedule " + cfg.schedules.front();
	if (!dropped.empty())
		throw SetupError("--selftests-only runs no scenarios, so " + dropped +
				 " would be ignored; drop it, or use --selftests to run the "
				 "scenarios and the selftests together");
}

int exit_code_for(const std::vector<CaseResult> &cases, bool allow_flaky)
{
	if (cases.empty())
		return kExitSkip;
	bool fail = false, setup = false, infra = false, ran = false;
	for (const auto &c : cases) {
		ran |= c.verdict != Verdict::skip;
		switch (c.verdict) {
		case Verdict::pass: break;
		case Verdict::skip: break;
		case Verdict::flaky: fail |= !allow_flaky; break;
		case Verdict::infra: infra = true; break;
		case Verdict::setup: setup = true; break;
		default: fail = true;
		}
	}
	if (fail)
		return kExitFail;
	if (setup)
		return kExitSetup;
	if (infra)
		return kExitInfra;
	// Only skips: kselftest's "nothing ran".
	return ran ? kExitPass : kExitSkip;
}

namespace {

// What a run knows before its first VM.
struct Prepared {
	std::optional<Baseline> baseline;
	std::vector<core::Case> cases;
	core::Contract contract;
	std::vector<std::string> knobs;
	AccelChoice accel;
	std::vector<std::unique_ptr<Backend>> backends;
	std::string qemu;  // every backend's QEMU, as the reports name it
	KernelArtifact kernel;
	std::optional<SelftestBuild> selftests;
	fs::path run_dir;
	fs::path from_kernel;      // --from-kernel's image, absolute, and its release
	std::string from_release;
};

// What its VMs gave.
struct Judged {
	std::vector<CaseResult> cases;
	int vms = 0, boots = 0, infra_retried = 0;
	std::map<std::string, int> vms_per_host;
};

// An update from another kernel (--from-kernel).  Whatever the rig checks
// on every boot's console or asks of every boot's kernel would be asked of
// that kernel too, which may have none of it: each such option is refused,
// with what to run instead.
void check_from_kernel(const RunConfig &cfg, Prepared &p)
{
	if (cfg.from_kernel.empty())
		return;
	const std::string at = "--from-kernel " + cfg.from_kernel.string();
	if (!fs::is_regular_file(cfg.from_kernel))
		throw SetupError(at + ": no such kernel image; pass the bzImage of the kernel "
				      "to update from");
	p.from_kernel = fs::absolute(cfg.from_kernel);
	p.from_release = image_release(p.from_kernel);
	if (p.from_release.empty())
		throw SetupError(at + ": not an x86 bzImage (no boot protocol header); pass "
				      "arch/x86/boot/bzImage of that build");
	if (!p.knobs.empty())
		throw SetupError(at + " with --fault: every boot must confirm a knob on its "
				      "console, and the first kernel need not know it; run the "
				      "knob without --from-kernel");
	if (!p.contract.kernel_cmdline.empty())
		throw SetupError(at + " with contract " + cfg.contract + ": its kernel block (" +
				 p.contract.kernel_cmdline + ") must be confirmed by every boot, "
				 "the first kernel's too; for kernels that follow the contract "
				 "by themselves, copy it without the block");
	if (!cfg.inject.empty())
		throw SetupError(at + " with --inject " + cfg.inject + ": injection needs the "
				      "debug kernel's fault injection in every boot; run it "
				      "without --from-kernel");
	if (cfg.kernel.flavour != "default")
		throw SetupError(at + " with --kernel-flavour " + cfg.kernel.flavour + ": every "
				      "boot would have to scan for leaks, the first kernel's "
				      "too; run the debug flavour without --from-kernel");
	if (cfg.selftests || cfg.selftests_only)
		throw SetupError(at + " with the kernel's selftests: they stage their own "
				      "kexec into the same kernel; run them without --from-kernel");
}

// Every option that can be checked without a kernel is checked here,
// before a build that may take minutes: bad input is exit 2 at once.
void check_inputs(const RunConfig &cfg, Prepared &p)
{
	if (!cfg.baseline.empty())
		p.baseline = load_baseline(cfg.baseline);
	check_selftest_options(cfg);
	check_inject_options(cfg);
	if (!cfg.selftests_only) {
		p.contract = resolve_contract(cfg.contract);
		p.cases = select_cases(cfg, p.contract);
		if (cfg.inject == "race" && !has_race_target(p.cases))
			throw SetupError("--inject race: no selected case holds an object the racers "
					 "change (guest-memfd, iommufd), so nothing would race; pick "
					 "scenarios with one (e.g. scenarios/deps/kvm-gmem.json)");
		if (cfg.inject == "fail-nth" && cfg.retrieve_copies != 0)
			check_walked_tokens(p.cases);
	}
	p.knobs = parse_fault_list(cfg.fault);
	check_from_kernel(cfg, p);
	if (p.baseline)
		check_baseline_fits(*p.baseline, p.contract.name.empty() ? cfg.contract : p.contract.name,
				    p.knobs, cfg.kernel.flavour, cfg.inject);
	if (auto why = console_level_problem(cfg.extra_cmdline))
		throw SetupError("--append '" + cfg.extra_cmdline + "': " + *why);
	if (cfg.extra_cmdline.find("luo_fault=") != std::string::npos)
		throw SetupError("--append '" + cfg.extra_cmdline + "': give fault knobs with "
				 "--fault, which checks them against the kernel and its console");
	p.accel = choose_accel(cfg.accel);
	if (cfg.backend != "qemu")
		return;
	if (cfg.qemu.find('/') != std::string::npos && !fs::is_regular_file(cfg.qemu))
		throw SetupError("--qemu " + cfg.qemu + ": no such file");
	if (qemu_version(cfg.qemu) == "unknown")
		throw SetupError("--qemu " + cfg.qemu + ": not found or does not answer --version; "
				 "run ci/setup or give the path of a qemu-system-x86_64");
}

// A libvirt daemon that is not there is known in a second, a kernel build
// takes minutes: connect before building.
void open_machines(const RunConfig &cfg, Prepared &p)
{
	BackendOptions o;
	o.kind = cfg.backend;
	o.connect = cfg.connect;
	o.jobs = cfg.jobs;
	o.accel = p.accel.accel;
	o.qemu = cfg.qemu;
	o.answer_seconds = cfg.libvirt_answer_seconds;
	p.backends = open_backends(o);
	for (const auto &b : p.backends)
		p.qemu += (p.qemu.empty() ? "" : "; ") + b->qemu_version();
}

void prepare_kernel(const RunConfig &cfg, Prepared &p)
{
	p.kernel = obtain_kernel(cfg.kernel);
	check_fault_knobs(p.kernel.image, p.knobs);
	if (cfg.selftests || cfg.selftests_only)
		p.selftests = prepare_selftests(cfg.kernel);
	const auto &k = p.kernel;
	std::fprintf(stderr, "luo-rig: %zu cases, kernel %s (%s%s), %s, %s\n", p.cases.size(),
		     k.release.c_str(), k.source.c_str(), k.from_cache ? ", cached" : "",
		     p.accel.reason.c_str(), p.qemu.c_str());
	if (cfg.backend != "qemu")
		for (const auto &b : p.backends)
			std::fprintf(stderr, "luo-rig: %s on %s, %d VM(s) at once\n", b->name().c_str(),
				     b->host().c_str(), b->slots());
}

fs::path make_run_dir(const RunConfig &cfg)
{
	fs::path dir = cfg.out_dir.empty() ? default_run_dir() : cfg.out_dir;
	fs::create_directories(dir);
	return fs::canonical(dir);
}

Judged boot_and_judge(const RunConfig &cfg, Prepared &p)
{
	VmContext ctx = make_vm_context(p.kernel.image, p.accel.accel, cfg.qemu);
	ctx.cmdline = cfg.extra_cmdline;
	ctx.faults = p.knobs;
	ctx.contract_cmdline = p.contract.kernel_cmdline;
	ctx.contract_confirms = p.contract.kernel_confirms;
	ctx.memory_mb = cfg.memory_mb;
	ctx.cpus = cfg.vm_cpus;
	ctx.step_weight = p.kernel.flavour == "debug" ? 15 : 1;
	ctx.leak_scan = p.kernel.flavour == "debug";
	if (p.contract.guest_memfd.preserve_freezes)
		ctx.gmem_frozen_err = p.contract.guest_memfd.freeze_err;
	if (p.contract.iommufd.preserve_marked_hwpts) {
		ctx.iommufd_seal_err = p.contract.iommufd.seal_err;
		ctx.iommufd_immutable_err = p.contract.iommufd.immutable_err;
	}
	if (p.contract.vfio.preserve_needs_marked_hwpt)
		ctx.vfio_unmarked_err = p.contract.vfio.unmarked_err;
	ctx.first_kernel = p.from_kernel;
	ctx.fail_nth = cfg.inject == "fail-nth";
	ctx.retrieve_copies = cfg.retrieve_copies < 0 ? kDefaultRetrieveCopies : cfg.retrieve_copies;
	ctx.race = cfg.inject == "race";
	// The racers share the guest's one vCPU with the steps.
	if (ctx.race)
		ctx.step_weight *= 2;
	if (ctx.fail_nth) {
		// Each step then runs once per error path its call reaches.
		ctx.step_weight *= 8;
		// The guest keeps kmemleak's and ODEBUG's caches out of
		// failslab, one cache at a time; a merged cache cannot be.
		ctx.cmdline += std::string(ctx.cmdline.empty() ? "" : " ") + "slab_nomerge";
	}

	std::vector<const core::Case *> ptrs;
	for (const auto &c : p.cases)
		ptrs.push_back(&c);
	Scheduler sched(cfg, ctx, p.backends, p.run_dir, p.cases.size());
	int parallel = 0;
	for (const auto &b : p.backends)
		parallel += b->slots();
	// The VMs take the schedules in turn: every kind of service gets a
	// share of the cases, and a case's schedule is that of its VM.
	std::vector<Schedule> schedules;
	for (const auto &s : cfg.schedules)
		schedules.push_back(parse_schedule(s));
	if (schedules.empty())
		schedules = default_schedules();
	size_t n = 0;
	for (auto &group : split_cases(ptrs, cfg.limits, std::max(parallel, 1)))
		sched.enqueue(group, schedules[n++ % schedules.size()]);
	install_interrupt_handler();
	if (!p.cases.empty())
		sched.run_all();
	// After the suite's VMs, so the two never compete for -j's cores.
	std::optional<SelftestRun> st;
	if (p.selftests && !interrupted()) {
		VmContext sctx = ctx;
		for (auto &b : p.backends)
			if (b->alive()) {
				sctx.backend = b.get();
				break;
			}
		st = run_selftests(*p.selftests, sctx, p.run_dir);
	}

	Judged j;
	for (const auto &c : p.cases) {
		auto it = sched.results().find(&c);
		std::string why = interrupted() || sched.lost_why().empty()
					  ? "not run: the run was interrupted"
					  : "not run: no backend was left to run it (" + sched.lost_why() + ")";
		j.cases.push_back(it != sched.results().end() ? std::move(it->second)
							      : not_run(c, Verdict::infra, why, {}));
	}
	j.vms = sched.vms();
	j.boots = sched.boots();
	j.infra_retried = sched.infra_retried();
	j.vms_per_host = sched.vms_per_host();
	if (st) {
		for (auto &c : st->cases)
			j.cases.push_back(std::move(c));
		j.vms += st->vms;
		j.boots += st->boots;
		j.infra_retried += st->infra_retried;
		for (const auto &[host, n] : st->vms_per_host)
			j.vms_per_host[host] += n;
	}
	sched.progress().finish(std::to_string(j.cases.size()) + " cases, " + std::to_string(j.vms) +
				" VMs");
	return j;
}

struct Timings {
	double wall = 0, kernel = 0, cases = 0;
};

RunReport summarise(const RunConfig &cfg, const Prepared &p, Judged &&j, const Timings &t)
{
	RunReport rep;
	rep.cases = std::move(j.cases);
	auto &s = rep.summary;
	const auto &k = p.kernel;
	s.kernel_source = k.source;
	s.kernel_release = k.release.empty() ? k.source : k.release;
	s.kernel_key = k.key;
	s.kernel_from_cache = k.from_cache;
	s.kernel_prebuilt = k.prebuilt;
	s.kernel_flavour = k.flavour;
	s.inject = cfg.inject;
	s.from_kernel = p.from_kernel.string();
	s.from_release = p.from_release;
	s.accel = to_string(p.accel.accel);
	s.accel_reason = p.accel.reason;
	s.qemu_version = p.qemu;
	s.contract = p.contract.name.empty() ? cfg.contract : p.contract.name;
	s.fault = p.knobs.empty() ? "" : fault_cmdline(p.knobs);
	s.run_dir = p.run_dir.string();
	s.vms = j.vms;
	s.boots = j.boots;
	s.vms_per_host = std::move(j.vms_per_host);
	s.infra_retried = j.infra_retried;
	s.allow_flaky = cfg.allow_flaky;
	s.wall_seconds = t.wall;
	s.kernel_seconds = t.kernel;
	s.cases_seconds = t.cases;
	s.hints = missing_handler_hints(p.cases, rep.cases);
	rep.exit_code = exit_code_for(rep.cases, cfg.allow_flaky);
	if (p.baseline) {
		rep.baseline = compare_to_baseline(*p.baseline, rep.cases, cfg.allow_flaky);
		rep.exit_code = exit_code_with_baseline(rep.cases, *rep.baseline);
	}
	return rep;
}

} // namespace

RunReport run_suite(const RunConfig &cfg)
{
	using clock = std::chrono::steady_clock;
	auto since = [](clock::time_point t) {
		return std::chrono::duration<double>(clock::now() - t).count();
	};
	Timings t;
	auto t0 = clock::now();
	Prepared p;
	check_inputs(cfg, p);
	open_machines(cfg, p);
	auto tk = clock::now();
	prepare_kernel(cfg, p);
	t.kernel = since(tk);
	p.run_dir = make_run_dir(cfg);
	auto tc = clock::now();
	Judged judged = boot_and_judge(cfg, p);
	t.cases = since(tc);
	t.wall = since(t0);
	RunReport rep = summarise(cfg, p, std::move(judged), t);
	write_reports(cfg, rep, p.run_dir);
	return rep;
}

} // namespace luo::host
