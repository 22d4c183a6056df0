// SPDX-License-Identifier: GPL-2.0-only
//
// luo-rig: the command line.
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include <CLI/CLI.hpp>

#include "host/cmd/bench.hpp"
#include "host/cmd/bench_backends.hpp"
#include "host/cmd/bench_suite.hpp"
#include "host/cmd/bisect.hpp"
#include "host/cmd/merge.hpp"
#include "host/cmd/minimize.hpp"
#include "host/cmd/repro.hpp"
#include "host/cmd/reproducer.hpp"
#include "core/contract.hpp"
#include "core/expand.hpp"
#include "core/plan_diff.hpp"
#include "core/plan_render.hpp"
#include "host/util/errors.hpp"
#include "host/run/contracts.hpp"
#include "host/run/run.hpp"
#include "host/cmd/shell.hpp"
#include "host/cmd/stress.hpp"
#include "host/vm/console_level.hpp"
#include "host/run/suite.hpp"

using namespace luo::host;
namespace fs = std::filesystem;

namespace {

void kernel_flags(CLI::App *cmd, KernelOptions &k)
{
	cmd->add_option("--kernel-src", k.kernel_src,
			"build from this kernel tree instead of Debian's linux-source-7.3")
		->check(CLI::ExistingDirectory);
	cmd->add_option("--kernel", k.kernel, "use this prebuilt bzImage (no build)");
	cmd->add_option("--patches", k.patch_dirs,
			"apply the patches of DIR (its `series` file, else *.patch); repeatable")
		->allow_extra_args(false);
	cmd->add_option("--mbox", k.mboxes,
			"apply the patch series of this mbox or maildir (b4 am's *.mbx), after "
			"kernel-config/patches; repeatable, stacked in the order given")
		->allow_extra_args(false);
	cmd->add_option("--series", k.series,
			"fetch the posted series with this message-id (b4 am) and apply it as "
			"--mbox does, after the --mbox series; repeatable")
		->allow_extra_args(false);
	cmd->add_flag("--no-default-patches", [&](int64_t) { k.default_patches = false; },
		      "do not apply kernel-config/patches");
	cmd->add_option("--config", k.fragments,
			"config fragment to merge instead of kernel-config/*.config; repeatable")
		->allow_extra_args(false);
	cmd->add_option("--kernel-flavour", k.flavour,
			"default, or debug: adds kernel-config/debug/*.config (KASAN, lockdep, "
			"kmemleak, DEBUG_LIST, DEBUG_OBJECTS, hung-task detector)");
	cmd->add_flag("--rebuild", k.rebuild, "build from scratch even when the cache has this kernel");
	cmd->add_option("--kernel-jobs", k.jobs, "make -j for the kernel (default: cores + 1)");
}

constexpr const char *kContractHelp =
	"agreed (default), strict, posted-2026 (scenarios/contracts/), or a contract file";

// What a case needs to run the same way again: used by run and repro.
void case_flags(CLI::App *cmd, RunConfig &run)
{
	cmd->add_option("--contract", run.contract, kContractHelp);
	cmd->add_option("--from-kernel", run.from_kernel,
			"boot this bzImage first in every VM and kexec into the kernel under "
			"test: a live update from another kernel (an older series, the "
			"distribution's kernel)");
	cmd->add_option("--accel", run.accel, "kvm, tcg or auto (default)");
	cmd->add_option("--qemu", run.qemu, "QEMU binary, name or path (default qemu-system-x86_64)");
	cmd->add_option("--fault", run.fault,
			"fault knobs of the patched kernel, comma-separated (luo_fault=)");
	cmd->add_option("--append", run.extra_cmdline, "extra kernel command line")
		->check([](const std::string &a) {
			// A console that hides WARNINGs would turn the judge blind.
			auto why = console_level_problem(a);
			return why ? *why : std::string();
		});
	cmd->add_option("--inject", run.inject,
			"fail-nth: run each Live Update call once per error path it reaches, "
			"failing its Nth allocation (needs --kernel-flavour debug); race: run each "
			"Live Update call while helper threads change its guest_memfd, iommufd and VFIO "
			"objects");
	cmd->add_option("--retrieve-copies", run.retrieve_copies,
			"with --inject fail-nth: copies of each memfd, KVM VM, guest_memfd and "
			"iommufd preserved beside it, on which the next kernel walks its "
			"RETRIEVE_FD's error paths, one copy per injected failure (default 32, "
			"0-255; 0: RETRIEVE_FD runs once, unarmed)")
		->check(CLI::Range(0, 255));
	// A guest the kernel cannot boot in, or more vCPUs than QEMU's q35
	// machine takes, would fail every case as if the kernel had.
	cmd->add_option("--memory", run.memory_mb, "guest memory in MiB, 512-65536 (default 2048)")
		->check(CLI::Range(512, 65536));
	cmd->add_option("--vm-cpus", run.vm_cpus,
			"vCPUs per VM, 1-64 (default 1 under TCG, 2 under KVM); with --inject "
			"race, more than one lets the racers run during the call, not only "
			"between its time slices")
		->check(CLI::Range(1, 64));
	cmd->add_option("--schedule", run.schedules,
			"how a VM serves its cases' sessions: sequential, reversed, round-robin, "
			"random:SEED or threads:N; repeatable, the VMs take them in turn (default: "
			"sequential, round-robin, threads:4, random:1)")
		->allow_extra_args(false);
	kernel_flags(cmd, run.kernel);
}

// bench has four modes; an option another mode owns would be ignored in
// silence, so it stops the run instead.
void check_bench_mode(CLI::App *bench, const std::string &mode)
{
	static const std::map<std::string, std::set<std::string>> own = {
		{"", {"--cases", "--singles", "--scenario"}},
		{"--qemu-stress", {"--qemu-stress", "--jobs", "--devices", "--qemu"}},
		{"--backends", {"--backends", "--connect", "--vms", "--devices"}},
		{"--suite", {"--suite", "--rounds", "--jobs"}},
	};
	const auto &mine = own.at(mode);
	std::string what = mode.empty() ? "bench" : "bench " + mode;
	for (const auto &m : {"--qemu-stress", "--backends", "--suite"})
		if (m != mode && bench->count(m))
			throw SetupError(what + " and bench " + m + " are different benchmarks; "
					 "run them one at a time");
	std::set<std::string> seen;
	for (const auto &[other, opts] : own)
		for (const auto &o : opts) {
			if (mine.count(o) || !bench->count(o) || !seen.insert(o).second)
				continue;
			std::string owners;
			for (const auto &[m, its] : own)
				if (its.count(o))
					owners += std::string(owners.empty() ? "" : " or ") + "bench" +
						  (m.empty() ? "" : " " + m);
			throw SetupError(what + " does not use " + o + " (" + owners + " does); drop it");
		}
}

} // namespace

int main(int argc, char **argv)
{
	CLI::App app{"luo-rig: end-to-end tests of Linux Live Update file dependencies"};
	app.require_subcommand(1);
	app.set_version_flag("--version", LUO_RIG_VERSION);

	RunConfig run;
	auto *run_cmd = app.add_subcommand("run", "build the kernel, boot VMs, judge every case");
	run_cmd->add_option("scenarios", run.scenarios,
			    "scenario files or directories (default: scenarios/)");
	run_cmd->add_option("--case", run.cases, "only cases whose id matches (glob); repeatable")
		->allow_extra_args(false);
	run_cmd->add_option("--shard", run.shard, "K/N: run the K-th of N shards");
	case_flags(run_cmd, run);
	run_cmd->add_option("-j,--jobs", run.jobs,
			    "VMs at once (default: one per core); with libvirt, per connection "
			    "that names no SLOTS");
	run_cmd->add_option("--backend", run.backend, "qemu (default: QEMU as a child process) or libvirt");
	run_cmd->add_option("--connect", run.connect,
			    "libvirt URI[=SLOTS] to run VMs on; repeatable (default qemu:///system; "
			    "SLOTS default: -j, else the host's CPUs)")
		->allow_extra_args(false);
	run_cmd->add_option("--libvirt-timeout", run.libvirt_answer_seconds,
			    "seconds a libvirt daemon may take to answer one call before the rig "
			    "takes it as hung and its connection as lost (default 120)")
		->check(CLI::Range(1, 3600));
	run_cmd->add_option("--max-cases", run.limits.max_cases, "cases per kexec round at most");
	run_cmd->add_option("--max-devices", run.limits.max_edu,
			    "VFIO devices per kexec round (and per VM) at most (default 29, "
			    "the most that need no PCIe root port; up to 120)");
	run_cmd->add_option("--rounds", run.limits.max_rounds,
			    "kexec rounds chained in one VM at most (default 16; 1: a VM per round)");
	run_cmd->add_flag("--allow-flaky", run.allow_flaky,
			  "flaky cases (passed only after their batch failed) do not fail the run");
	run_cmd->add_flag("--no-bisect", [&](int64_t) { run.bisect = false; },
			  "do not rerun the cases of a failed batch apart");
	run_cmd->add_option("--out", run.out_dir, "run directory (default luo-rig-runs/<time>)");
	run_cmd->add_option("--json", run.json, "write the JSON report here too");
	run_cmd->add_option("--junit", run.junit, "write a JUnit XML report here");
	run_cmd->add_flag("--selftests", run.selftests,
			  "also run the kernel tree's own LUO selftests "
			  "(tools/testing/selftests/liveupdate), after the scenarios");
	run_cmd->add_flag("--selftests-only", run.selftests_only,
			  "run only the kernel tree's own LUO selftests, no scenarios");
	run_cmd->add_option("--baseline", run.baseline,
			    "a previous results.json or a known-failures file: only failures "
			    "not in it fail the run");

	ReproConfig repro;
	auto *repro_cmd = app.add_subcommand("repro", "run one case alone N times: how often it "
							"fails, and how");
	repro_cmd->add_option("id", repro.id, "the case id (a glob that matches one case)")
		->required();
	repro_cmd->add_option("scenarios", repro.run.scenarios,
			      "scenario files or directories (default: scenarios/)");
	repro_cmd->add_option("--runs", repro.runs, "how many times (default 5)");
	repro_cmd->add_option("--out", repro.run.out_dir,
			      "directory for the runs (default luo-rig-runs/repro-<pid>)");
	case_flags(repro_cmd, repro.run);

	ReproConfig mini;
	mini.runs = 3;
	auto *minimize_cmd = app.add_subcommand(
		"minimize", "cut a failing case down to the smallest scenario that fails the same way");
	minimize_cmd->add_option("id", mini.id, "the case id")->required();
	minimize_cmd->add_option("scenarios", mini.run.scenarios,
				 "scenario files or directories (default: scenarios/)");
	minimize_cmd->add_option("--runs", mini.runs,
				 "runs that measure the failure first (default 3); a flaky one "
				 "makes each cut run more often");
	minimize_cmd->add_option("--out", mini.run.out_dir,
				 "directory for minimal.json and the tries (default "
				 "luo-rig-runs/minimize-<pid>)");
	case_flags(minimize_cmd, mini.run);

	ReproConfig rep;
	fs::path rep_out;
	std::string rep_fail_nth;
	auto *reproducer_cmd = app.add_subcommand(
		"reproducer", "write a case as one C file that runs without the rig, across kexec");
	reproducer_cmd->add_option("id", rep.id, "the case id (a minimised one is best)")->required();
	reproducer_cmd->add_option("scenarios", rep.run.scenarios,
				   "scenario files or directories (default: scenarios/)");
	reproducer_cmd->add_option("--out", rep_out, "directory for repro.c and its README")
		->required();
	reproducer_cmd->add_option("--contract", rep.run.contract, kContractHelp);
	reproducer_cmd->add_option("--fault", rep.run.fault,
				   "the fault knobs the kernel is to boot with (noted in the README)");
	reproducer_cmd->add_option("--fail-nth", rep_fail_nth,
				   "STEP:N: run STEP's Live Update call with fail-nth N, as a --inject "
				   "fail-nth run found it (\"step 4 ...: observed fail-nth 3\" is 4:3)");
	bool rep_race = false;
	reproducer_cmd->add_flag("--race", rep_race,
				 "race each Live Update call with helper threads on the guest_memfd "
				 "and iommufd objects, as --inject race does");

	BisectConfig bis;
	auto *bisect_cmd = app.add_subcommand(
		"bisect", "the first commit of --kernel-src between --good and --bad where a case "
			  "fails; without them, the first patch of --mbox/--series/--patches");
	bisect_cmd->add_option("id", bis.repro.id, "the case id")->required();
	bisect_cmd->add_option("scenarios", bis.repro.run.scenarios,
			       "scenario files or directories (default: scenarios/)");
	bisect_cmd->add_option("--good", bis.good, "a commit where the case passes");
	bisect_cmd->add_option("--bad", bis.bad, "a commit where it fails");
	bisect_cmd->add_option("--runs", bis.repro.runs,
			       "runs per commit; any failure makes it bad (default 1)");
	bisect_cmd->add_option("--out", bis.repro.run.out_dir,
			       "directory for each commit's run (default luo-rig-runs/bisect-<pid>)");
	case_flags(bisect_cmd, bis.repro.run);
	bis.repro.runs = 1;

	std::vector<std::string> plan_files;
	std::string plan_contract = "agreed";
	bool plan_as_json = false;
	std::vector<std::string> plan_cases;
	auto *plan_cmd = app.add_subcommand("plan", "list cases and expected outcomes; boots nothing");
	std::vector<std::string> plan_diff;
	plan_cmd->add_option("scenarios", plan_files,
			     "scenario files or directories (default: the whole suite)");
	plan_cmd->add_option("--contract", plan_contract, kContractHelp);
	plan_cmd->add_option("--diff", plan_diff,
			     "A B: the cases and steps where contracts A and B demand different outcomes")
		->expected(2)
		->allow_extra_args(false)
		->excludes("--contract");
	plan_cmd->add_option("--case", plan_cases, "only cases whose id matches (glob); repeatable")
		->allow_extra_args(false);
	plan_cmd->add_flag("--json", plan_as_json, "JSON instead of text");

	KernelOptions kopts;
	auto *kernel_cmd = app.add_subcommand("kernel", "kernel pipeline");
	kernel_cmd->require_subcommand(1);
	auto *kbuild = kernel_cmd->add_subcommand("build", "build (or find cached) the test kernel");
	kernel_flags(kbuild, kopts);

	ShellConfig shell;
	auto *shell_cmd = app.add_subcommand("shell", "boot the test VM to a busybox shell");
	shell_cmd->add_option("scenario", shell.scenario, "scenario whose plan to put in the image");
	shell_cmd->add_option("--case", shell.case_pattern, "case to plan (glob)");
	shell_cmd->add_option("--accel", shell.accel, "kvm, tcg or auto");
	shell_cmd->add_option("--fault", shell.fault, "fault knobs (luo_fault=)");
	shell_cmd->add_option("--devices", shell.edu_devices, "edu devices (default 2)");
	std::string shell_reproducer;
	shell_cmd->add_option("--reproducer", shell_reproducer,
			      "boot DIR/repro.c (from luo-rig reproducer) as /init instead");
	int shell_cpus = 0;
	shell_cmd->add_option("--vm-cpus", shell_cpus,
			      "vCPUs of the reproducer's VM (default 1 under TCG; 2 lets a racing "
			      "reproducer race inside a call)")
		->check(CLI::Range(1, 8));
	kernel_flags(shell_cmd, shell.kernel);

	BenchConfig bench;
	auto *bench_cmd = app.add_subcommand("bench", "measure batching against one case per boot and the floor");
	bench_cmd->add_option("--cases", bench.cases, "cases to time (default 40)");
	bench_cmd->add_option("--accel", bench.accel, "kvm, tcg or auto");
	bench_cmd->add_option("--singles", bench.singles, "cases also run one per boot (default 3)");
	bench_cmd->add_option("--scenario", bench.scenario,
			      "scenario to draw the cases from (default scenarios/deps/kvm-gmem-memfd.json)");
	kernel_flags(bench_cmd, bench.kernel);
	StressConfig stress;
	int stress_boots = 0;
	bench_cmd->add_option("--qemu-stress", stress_boots,
			      "instead: boot N VMs of the heaviest shape (all edu devices, an init "
			      "that only kexecs), --jobs at once, and count how each ended");
	bench_cmd->add_option("-j,--jobs", stress.jobs, "with --qemu-stress: VMs at once (default 6)");
	bench_cmd->add_option("--devices", stress.devices, "with --qemu-stress: edu devices (default 57)");
	bench_cmd->add_option("--qemu", stress.qemu, "with --qemu-stress: QEMU binary, name or path");
	BackendBenchConfig bb;
	bool bench_backends = false;
	bench_cmd->add_flag("--backends", bench_backends,
			    "instead: boot VMs alternately through QEMU directly and through libvirt "
			    "and compare their cost per VM");
	bench_cmd->add_option("--connect", bb.connect, "with --backends: libvirt URI (default qemu:///system)");
	bench_cmd->add_option("--vms", bb.vms, "with --backends: VMs per backend (default 5)");
	SuiteBenchConfig sb;
	bool bench_suite = false;
	bench_cmd->add_flag("--suite", bench_suite,
			    "instead: run the default suite with a VM per kexec round and with "
			    "chained rounds, and compare both with the floor for its case count");
	bench_cmd->add_option("--rounds", sb.rounds, "with --suite: the chaining planner's --rounds (default 16)");

	fs::path merge_out;
	std::vector<fs::path> merge_inputs;
	auto *merge_cmd = app.add_subcommand(
		"merge", "join the results.json of --shard runs into one set of reports");
	merge_cmd->add_option("out_dir", merge_out, "directory for the merged reports")->required();
	merge_cmd->add_option("results", merge_inputs, "results.json of each shard")->required();

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		int rc = app.exit(e);
		return rc == 0 ? 0 : kExitSetup;
	}

	try {
		if (*run_cmd)
			return run_suite(run).exit_code;
		if (*repro_cmd) {
			auto r = reproduce(repro);
			std::cout << render_repro(r);
			return repro_exit_code(r);
		}
		if (*minimize_cmd) {
			std::cout << render_minimize(minimize(mini));
			return kExitPass;
		}
		if (*bisect_cmd) {
			auto r = bisect(bis);
			const char *what = r.series ? "patch" : "commit";
			std::cout << r.first_bad << " is the first bad " << what << ": " << r.subject
				  << "\n";
			std::cerr << "each " << what << "'s run: " << r.steps_dir.string() << "\n";
			return kExitPass;
		}
		if (*plan_cmd) {
			if (!plan_diff.empty()) {
				if (plan_diff[0] == plan_diff[1])
					throw SetupError("--diff " + plan_diff[0] + " " + plan_diff[1] +
							 ": name two different contracts");
				auto a = luo::host::resolve_contract(plan_diff[0]);
				auto b = luo::host::resolve_contract(plan_diff[1]);
				auto files = scenario_files(plan_files);
				auto d = luo::core::diff_plans(
					a.name, filter_cases(luo::core::expand_files(files, a), plan_cases), b.name,
					filter_cases(luo::core::expand_files(files, b), plan_cases));
				if (plan_as_json)
					std::cout << luo::core::plan_diff_json(d).dump(1) << "\n";
				else
					std::cout << luo::core::render_plan_diff(d);
				return kExitPass;
			}
			auto contract = luo::host::resolve_contract(plan_contract);
			auto cases = filter_cases(
				luo::core::expand_files(scenario_files(plan_files), contract), plan_cases);
			if (plan_as_json)
				std::cout << luo::core::plan_json(cases).dump(1) << "\n";
			else
				std::cout << luo::core::render_plan_text(cases);
			return kExitPass;
		}
		if (*kbuild) {
			auto k = obtain_kernel(kopts);
			std::cout << k.image.string() << "\n";
			std::fprintf(stderr, "kernel %s (%s, %s flavour)%s, key %s\n", k.release.c_str(),
				     k.source.c_str(), k.flavour.c_str(),
				     k.from_cache ? ", from the cache" : "", k.key.c_str());
			return kExitPass;
		}
		if (*shell_cmd && !shell_reproducer.empty()) {
			// The reproducer is the whole image: a plan or devices
			// asked for beside it would be silently dropped.
			if (!shell.scenario.empty() || !shell.case_pattern.empty() ||
			    shell_cmd->count("--devices"))
				throw SetupError("shell --reproducer boots only the reproducer; drop "
						 "the scenario, --case and --devices");
			boot_reproducer(shell_reproducer, shell.kernel, shell.accel, shell.fault, true,
					shell_cpus);
			return kExitPass;
		}
		if (*shell_cmd && shell_cpus)
			throw SetupError("shell --vm-cpus sets the reproducer's VM; add --reproducer "
					 "DIR, or drop it");
		if (*shell_cmd)
			return run_shell(shell);
		if (*reproducer_cmd) {
			auto file = write_reproducer(rep, rep_out, rep_fail_nth, rep_race);
			std::cout << file.string() << "\n";
			return kExitPass;
		}
		if (*merge_cmd)
			return run_merge(merge_out, merge_inputs);
		if (*bench_cmd)
			check_bench_mode(bench_cmd, bench_suite     ? "--suite"
						    : bench_backends ? "--backends"
						    : stress_boots > 0 ? "--qemu-stress"
								       : "");
		if (*bench_cmd && bench_suite) {
			sb.kernel = bench.kernel;
			sb.accel = bench.accel;
			sb.jobs = bench_cmd->count("--jobs") ? stress.jobs : 0;
			return run_suite_bench(sb);
		}
		if (*bench_cmd && bench_backends) {
			bb.kernel = bench.kernel;
			bb.accel = bench.accel;
			if (stress.devices >= 0 && bench_cmd->count("--devices"))
				bb.devices = stress.devices;
			return run_backend_bench(bb);
		}
		if (*bench_cmd && stress_boots > 0) {
			stress.boots = stress_boots;
			stress.accel = bench.accel;
			stress.kernel = bench.kernel;
			return run_qemu_stress(stress);
		}
		if (*bench_cmd)
			return run_bench(bench);
	} catch (const InfraError &e) {
		std::cerr << "luo-rig: " << e.what() << "\n";
		return kExitInfra;
	} catch (const SetupError &e) {
		// Bad scenarios, bad options, missing tools, failed kernel builds.
		std::cerr << "luo-rig: " << e.what() << "\n";
		return kExitSetup;
	} catch (const std::exception &e) {
		// Scenario files report their errors as runtime_error with the
		// file and place; anything else is the rig's own bug.
		std::cerr << "luo-rig: " << e.what() << "\n";
		return kExitSetup;
	}
	return kExitPass;
}
