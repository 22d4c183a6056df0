// SPDX-License-Identifier: GPL-2.0-only
#include "host/cmd/bisect_series.hpp"

#include <fstream>
#include <iostream>
#include <set>

#include "host/kernel/kernel_build.hpp"
#include "host/kernel/mbox.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"

namespace luo::host {

namespace fs = std::filesystem;

SeriesSearch search_first_bad(int good, int bad, const std::function<StepVerdict(int)> &test)
{
	SeriesSearch out;
	std::set<int> skipped;
	for (;;) {
		// The untried prefix nearest the middle: with skips, the middle
		// itself may be out, and its neighbours still split the range.
		int mid = (good + bad) / 2, pick = -1;
		for (int d = 0; pick < 0 && d < bad - good; d++)
			for (int k : {mid - d, mid + d + 1})
				if (pick < 0 && k > good && k < bad && !skipped.count(k))
					pick = k;
		if (pick < 0)
			break;
		out.tested.push_back(pick);
		switch (test(pick)) {
		case StepVerdict::good:
			good = pick;
			break;
		case StepVerdict::bad:
			bad = pick;
			break;
		case StepVerdict::skip:
			skipped.insert(pick);
			break;
		}
	}
	for (int k : skipped)
		if (k > good && k < bad)
			out.could_be.push_back(k);
	if (out.could_be.empty())
		out.first_bad = bad;
	else
		out.could_be.push_back(bad);
	return out;
}

namespace {

// "[PATCH v2 3/5] vfio: ..." -> "vfio: ..."; a bare diff is named by its file.
std::string subject_of(const fs::path &patch)
{
	auto subject = mail_header(read_file(patch), "Subject");
	if (!subject)
		return patch.filename().string();
	return parse_subject(*subject).title;
}

} // namespace

fs::path series_prefix(const fs::path &steps_dir, const std::vector<fs::path> &patches, int k)
{
	fs::path dir = steps_dir / ("patches-" + std::to_string(k));
	fs::remove_all(dir);
	fs::create_directories(dir);
	std::set<std::string> taken;
	std::string series;
	for (int i = 0; i < k; i++) {
		// The name is part of the kernel key, so it stays the same
		// unless two patches from different places share it.
		std::string name = patches[i].filename().string();
		for (int n = i + 1; taken.count(name); n++)
			name = std::to_string(n) + "-" + patches[i].filename().string();
		taken.insert(name);
		copy_mail_patch(patches[i], dir / name);
		series += name + "\n";
	}
	write_file_atomic(dir / "series", series);
	return dir;
}

BisectResult bisect_series(const BisectConfig &cfg, const fs::path &steps_dir)
{
	const auto &run = cfg.repro.run;
	KernelOptions theirs = run.kernel;
	theirs.default_patches = false;
	auto patches = patch_list(theirs);
	if (patches.empty())
		throw SetupError("bisect needs something to walk: --good and --bad (commits of "
				 "--kernel-src), or a series of patches (--mbox, --series, --patches)");
	int n = static_cast<int>(patches.size());
	std::string id = resolve_case(run, cfg.repro.id).id;

	BisectResult res;
	res.series = true;
	res.steps_dir = steps_dir;
	fs::create_directories(res.steps_dir);
	fs::path steps_log = res.steps_dir / "steps.log";
	std::ofstream log(steps_log, std::ios::app);
	auto name = [&](int k) {
		return "patch " + std::to_string(k) + "/" + std::to_string(n) + " (" +
		       patches[k - 1].filename().string() + ")";
	};
	auto step = [&](int k) {
		std::string what = k == 0 ? "no patch of the series" : "up to " + name(k);
		std::cerr << "luo-rig bisect: checking " << what << "\n";
		ReproConfig rc = cfg.repro;
		rc.id = id;
		auto &kern = rc.run.kernel;
		kern.mboxes.clear();
		kern.series.clear();
		kern.patch_dirs = {series_prefix(res.steps_dir, patches, k)};
		rc.run.out_dir = res.steps_dir / ("step-" + std::to_string(k));
		std::string said;
		StepVerdict v;
		try {
			auto r = reproduce(rc);
			int code = repro_exit_code(r);
			v = code == kExitPass ? StepVerdict::good
			    : code == kExitFail ? StepVerdict::bad : StepVerdict::skip;
			said = render_repro(r);
		} catch (const SetupError &e) {
			// A prefix that does not apply or build says nothing about
			// the case; git bisect skips such a commit too.
			v = StepVerdict::skip;
			said = std::string("cannot be judged: ") + e.what() + "\n";
		} catch (const InfraError &e) {
			v = StepVerdict::skip;
			said = std::string("cannot be judged (infra): ") + e.what() + "\n";
		}
		const char *verdict = v == StepVerdict::good ? "good" : v == StepVerdict::bad ? "bad"
												: "skip";
		log << "== " << what << ": " << verdict << "\n" << said;
		log.flush();
		std::cerr << "luo-rig bisect: " << what << ": " << verdict << "\n";
		return v;
	};

	// Both ends first, as for commits: between two bad ends any answer
	// would be wrong.
	if (auto v = step(n); v != StepVerdict::bad)
		throw SetupError("the case " +
				 std::string(v == StepVerdict::good ? "passes" : "cannot be judged") +
				 " with the whole series (see " + steps_log.string() +
				 "); nothing to bisect");
	if (auto v = step(0); v != StepVerdict::good)
		throw SetupError("the case " +
				 std::string(v == StepVerdict::bad ? "fails" : "cannot be judged") +
				 " without any patch of the series (see " + steps_log.string() +
				 "); the series is not what breaks it");
	auto found = search_first_bad(0, n, step);
	if (found.first_bad < 0) {
		std::string list;
		for (int k : found.could_be)
			list += "\n  " + name(k) + " " + subject_of(patches[k - 1]);
		throw SetupError("the first bad patch is one of these; the others between could not "
				 "be judged (see " + steps_log.string() + "):" + list);
	}
	res.first_bad = name(found.first_bad);
	res.subject = subject_of(patches[found.first_bad - 1]);
	return res;
}

} // namespace luo::host
