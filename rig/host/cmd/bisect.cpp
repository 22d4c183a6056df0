// SPDX-License-Identifier: GPL-2.0-only
#include "host/cmd/bisect.hpp"
#include "host/cmd/bisect_series.hpp"

#include <iostream>
#include <regex>
#include <unistd.h>

#include "host/kernel/b4_series.hpp"
#include "host/kernel/hash.hpp"
#include "host/run/contracts.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"
#include "host/util/process.hpp"

namespace luo::host {

namespace fs = std::filesystem;

namespace {

std::string git(const fs::path &tree, std::vector<std::string> args)
{
	args.insert(args.begin(), {"git", "-C", tree.string()});
	std::string out = capture(args);
	while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
		out.pop_back();
	return out;
}

std::string commit_of(const fs::path &tree, const std::string &rev, const char *flag)
{
	RunOptions o;
	o.cwd = tree;
	std::string out;
	o.on_line = [&](const std::string &l) { out += l; };
	if (run_command({"git", "rev-parse", "--verify", "--quiet", rev + "^{commit}"}, o) != 0)
		throw SetupError(std::string(flag) + " " + rev + ": not a commit of " + tree.string());
	return out;
}

// The worktree lives in the cache, one per developer tree, and goes away on
// every exit path; one left by a killed bisect is removed first.
class Worktree {
public:
	Worktree(const fs::path &tree, const fs::path &dir, const std::string &rev)
		: tree_(tree), dir_(dir)
	{
		remove();
		fs::create_directories(dir_.parent_path());
		git(tree_, {"worktree", "add", "--detach", "--quiet", dir_.string(), rev});
	}
	~Worktree()
	{
		try {
			remove();
		} catch (...) {
		}
	}
	const fs::path &dir() const { return dir_; }

private:
	void remove()
	{
		RunOptions quiet;
		quiet.cwd = tree_;
		if (fs::exists(dir_))
			run_command({"git", "worktree", "remove", "--force", dir_.string()}, quiet);
		std::error_code ec;
		fs::remove_all(dir_, ec);
		run_command({"git", "worktree", "prune"}, quiet);
	}
	fs::path tree_, dir_;
};

std::vector<std::string> repro_argv(const BisectConfig &cfg, const fs::path &worktree,
				    const std::string &id)
{
	const auto &run = cfg.repro.run;
	const auto &k = run.kernel;
	std::vector<std::string> a{rig_binary().string(), "repro", id, "--runs",
				   std::to_string(cfg.repro.runs), "--kernel-src", worktree.string(),
				   "--contract", contract_argument(run.contract), "--accel", run.accel, "--qemu", run.qemu,
				   "--memory", std::to_string(run.memory_mb),
				   "--kernel-flavour", k.flavour};
	if (run.vm_cpus)
		a.insert(a.end(), {"--vm-cpus", std::to_string(run.vm_cpus)});
	if (!run.from_kernel.empty())
		a.insert(a.end(), {"--from-kernel", fs::absolute(run.from_kernel).string()});
	if (!run.fault.empty())
		a.insert(a.end(), {"--fault", run.fault});
	if (!run.extra_cmdline.empty())
		a.insert(a.end(), {"--append", run.extra_cmdline});
	for (const auto &m : k.mboxes)
		a.insert(a.end(), {"--mbox", fs::absolute(m).string()});
	for (const auto &id : k.series)
		a.insert(a.end(), {"--series", id});
	for (const auto &p : k.patch_dirs)
		a.insert(a.end(), {"--patches", fs::absolute(p).string()});
	for (const auto &f : k.fragments)
		a.insert(a.end(), {"--config", fs::absolute(f).string()});
	if (k.jobs)
		a.insert(a.end(), {"--kernel-jobs", std::to_string(k.jobs)});
	if (k.rebuild)
		a.push_back("--rebuild");
	for (const auto &s : run.scenarios)
		a.push_back(fs::absolute(s).string());
	return a;
}

} // namespace

std::string bisect_step_script(const std::vector<std::string> &argv, const fs::path &steps_dir)
{
	std::string log = shell_quote((steps_dir / "steps.log").string());
	return "#!/bin/sh\n"
	       "# One step of luo-rig bisect: the case at the commit checked out here.\n"
	       "rev=$(git rev-parse --short=12 HEAD)\n"
	       "echo \"== $rev $(git log -1 --format=%s HEAD)\" >> " + log + "\n" +
	       join_command(argv) + " --out " + shell_quote(steps_dir.string()) + "/\"$rev\" >> " +
	       log + " 2>&1\n"
	       "rc=$?\n"
	       "echo \"== $rev: luo-rig exit $rc\" >> " + log + "\n"
	       "case $rc in\n"
	       "0) exit 0 ;;     # every run passed: good\n"
	       "1) exit 1 ;;     # a run failed: bad\n"
	       "2) exit 125 ;;   # no build, or a run was setup: this commit cannot be judged\n"
	       "3) exit 125 ;;   # a run was infra: neither good nor bad, skip it\n"
	       "*) exit 128 ;;   # anything else: stop, a verdict would be a guess\n"
	       "esac\n";
}

BisectResult bisect(const BisectConfig &cfg)
{
	const auto &run = cfg.repro.run;
	if (cfg.good.empty() != cfg.bad.empty())
		throw SetupError(std::string(cfg.good.empty() ? "--bad" : "--good") +
				 " without " + (cfg.good.empty() ? "--good" : "--bad") +
				 ": a bisect by commits needs both ends; without either, bisect "
				 "walks the patches of --mbox, --series or --patches");
	if (run.kernel.kernel)
		throw SetupError("bisect builds each step; drop --kernel");
	fs::path steps_dir = run.out_dir.empty() ? fs::absolute(fs::path("luo-rig-runs") /
								 ("bisect-" + std::to_string(getpid())))
						  : fs::absolute(run.out_dir);
	if (cfg.good.empty())
		return bisect_series(cfg, steps_dir);
	if (!run.kernel.kernel_src)
		throw SetupError("bisect needs --kernel-src: the git tree whose commits to bisect");
	fs::path tree = fs::absolute(*run.kernel.kernel_src);
	RunOptions o;
	o.cwd = tree;
	if (run_command({"git", "rev-parse", "--git-dir"}, o) != 0)
		throw SetupError("--kernel-src " + tree.string() + ": not a git checkout");
	std::string good = commit_of(tree, cfg.good, "--good");
	std::string bad = commit_of(tree, cfg.bad, "--bad");
	if (run_command({"git", "merge-base", "--is-ancestor", good, bad}, o) != 0)
		throw SetupError("--good " + cfg.good + " is not an ancestor of --bad " + cfg.bad +
				 ": bisect needs the good commit below the bad one");
	std::string id = resolve_case(run, cfg.repro.id).id;

	BisectResult res;
	res.steps_dir = steps_dir;
	fs::create_directories(res.steps_dir);
	Hasher h;
	h.add(tree.string());
	Worktree wt(tree, cache_root() / "bisect" / h.hex().substr(0, 16), bad);
	fs::path script = res.steps_dir / "step.sh";
	// A posted series is fetched once: every step applies the same mbox,
	// and a step cannot fail on the archive being out of reach.
	BisectConfig steps = cfg;
	auto &k = steps.repro.run.kernel;
	for (const auto &msgid : k.series)
		k.mboxes.push_back(fetch_series(normalise_msgid(msgid), cache_root() / "series"));
	k.series.clear();
	write_file_atomic(script, bisect_step_script(repro_argv(steps, wt.dir(), id), res.steps_dir));
	fs::permissions(script, fs::perms::owner_exec, fs::perm_options::add);

	RunOptions in_wt;
	in_wt.cwd = wt.dir();
	auto step = [&](const std::string &rev, const char *what) {
		git(wt.dir(), {"checkout", "--quiet", "--detach", rev});
		std::cerr << "luo-rig bisect: checking " << what << " " << rev.substr(0, 12) << "\n";
		return run_command({"sh", script.string()}, in_wt);
	};
	// Both ends first: a bisect between two bad (or two good) commits
	// names a commit all the same, and it would be wrong.
	int at_bad = step(bad, "--bad");
	if (at_bad != 1)
		throw SetupError("the case " + (at_bad == 0 ? std::string("passes") : "cannot run") +
				 " at --bad " + cfg.bad + " (see " + (res.steps_dir / "steps.log").string() +
				 "); nothing to bisect");
	int at_good = step(good, "--good");
	if (at_good != 0)
		throw SetupError("the case " + (at_good == 1 ? std::string("fails") : "cannot run") +
				 " at --good " + cfg.good + " already (see " +
				 (res.steps_dir / "steps.log").string() + "); pick an older good commit");

	git(wt.dir(), {"bisect", "start", bad, good});
	std::string output;
	RunOptions b = in_wt;
	b.on_line = [&](const std::string &l) {
		output += l + "\n";
		std::cerr << "  " << l << "\n";
	};
	int rc = run_command({"git", "bisect", "run", "sh", script.string()}, b);
	RunOptions quiet = in_wt;
	run_command({"git", "bisect", "reset", "--quiet"}, quiet);
	static const std::regex first(R"(([0-9a-f]{40}) is the first bad commit)");
	std::smatch m;
	if (rc != 0 || !std::regex_search(output, m, first))
		throw InfraError("git bisect run ended without a first bad commit (exit " +
				 std::to_string(rc) + "); the steps are in " +
				 (res.steps_dir / "steps.log").string());
	res.first_bad = m[1].str();
	res.subject = git(tree, {"log", "-1", "--format=%s", res.first_bad});
	return res;
}

} // namespace luo::host
