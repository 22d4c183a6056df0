// SPDX-License-Identifier: GPL-2.0-only
#include "host/cmd/minimize.hpp"

#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>
#include <unistd.h>

#include "core/expand.hpp"
#include "core/scenario.hpp"
#include "host/cmd/shrink.hpp"
#include "host/run/contracts.hpp"
#include "host/run/signature.hpp"
#include "host/run/suite.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"

namespace luo::host {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

fs::path file_of(const RunConfig &run, const std::string &scenario)
{
	for (const auto &f : scenario_files(run.scenarios))
		if (core::load_scenario(f).name == scenario)
			return f;
	throw SetupError("no scenario file named " + scenario);
}

// The one case of a candidate document, or nothing when the cut made it
// invalid (the parser and the expansion are the judges of that).
std::optional<core::Case> only_case(const json &doc, const fs::path &file,
				    const core::Contract &contract)
{
	try {
		auto sc = core::parse_scenario(doc.dump(2), file.string());
		auto cases = core::expand(sc, contract);
		if (cases.size() != 1)
			return std::nullopt;
		return cases[0];
	} catch (const std::exception &) {
		return std::nullopt;
	}
}

class Trier {
public:
	Trier(const ReproConfig &cfg, fs::path dir, std::string signature, int runs)
		: cfg_(cfg), dir_(std::move(dir)), signature_(std::move(signature)), runs_(runs)
	{
		fs::create_directories(dir_);
	}

	// Does this document still fail with the signature?
	bool fails(const json &doc, int *tries)
	{
		int n = ++count_;
		fs::path file = dir_ / ("try-" + std::to_string(n) + ".json");
		write_file_atomic(file, doc.dump(2) + "\n");
		for (int i = 0; i < runs_; i++) {
			RunConfig run = cfg_.run;
			run.scenarios = {file.string()};
			run.cases.clear();
			run.out_dir = dir_ / ("try-" + std::to_string(n)) / ("run-" + std::to_string(i + 1));
			run.quiet = true;
			run.summary = false;
			run.bisect = false;
			run.baseline.clear();
			run.shard.clear();
			auto rep = run_suite(run);
			(*tries)++;
			if (rep.cases.size() == 1 && failure_signature(rep.cases[0]) == signature_)
				return true;
		}
		return false;
	}

private:
	const ReproConfig &cfg_;
	fs::path dir_;
	std::string signature_;
	int runs_;
	int count_ = 0;
};

} // namespace

MinimizeResult minimize(const ReproConfig &cfg)
{
	MinimizeResult res;
	auto contract = resolve_contract(cfg.run.contract);
	res.id = resolve_case(cfg.run, cfg.id).id;
	auto orders = parse_case_id(res.id);
	if (!orders)
		throw SetupError("minimize " + res.id + ": only <scenario>/p:.../r:... cases can be "
				 "cut down");
	fs::path source = file_of(cfg.run, orders->scenario);
	fs::path out = cfg.run.out_dir.empty()
			       ? fs::path("luo-rig-runs") / ("minimize-" + std::to_string(getpid()))
			       : cfg.run.out_dir;
	fs::create_directories(out);

	// How the case fails, and how often: a flaky failure needs several
	// runs per candidate before a cut can be said to lose it.
	ReproConfig measure = cfg;
	measure.id = res.id;
	measure.run.out_dir = out / "measure";
	auto rate = reproduce(measure);
	res.measured_runs = rate.runs;
	res.measured_failed = rate.failed;
	if (rate.failed == 0)
		throw SetupError("minimize " + res.id + ": it did not fail in " +
				 std::to_string(rate.runs) + " runs; nothing to minimise (more --runs?)");
	res.signature = std::max_element(rate.signatures.begin(), rate.signatures.end(),
					 [](const auto &a, const auto &b) { return a.second < b.second; })
				->first;
	if (rate.failed < rate.runs)
		res.runs_per_try = std::min(10, (3 * rate.runs + rate.failed - 1) / rate.failed);

	json doc = single_case(json::parse(read_file(source)), *orders);
	doc["name"] = orders->scenario;
	auto first = only_case(doc, source, contract);
	if (!first)
		throw SetupError("minimize " + res.id + ": the case cannot be written as a scenario "
				 "of its own (a bug in the rig; please report it)");
	res.objects_before = (int)doc["objects"].size();
	res.steps_before = (int)first->steps.size();

	Trier trier(cfg, out / "tries", res.signature, res.runs_per_try);
	if (!trier.fails(doc, &res.tries))
		throw SetupError("minimize " + res.id + ": alone in a scenario of its own it no longer "
				 "fails with \"" + res.signature + "\"; it depends on more than itself");
	// Greedy: take the first cut that keeps the failure, start over; stop
	// when no cut does.  Each kept cut makes the story strictly smaller.
	for (bool cut = true; cut;) {
		cut = false;
		for (auto &s : shrink_candidates(doc)) {
			if (!only_case(s.doc, source, contract))
				continue;
			std::cerr << "luo-rig minimize: trying: " << s.what << "\n";
			if (trier.fails(s.doc, &res.tries)) {
				doc = std::move(s.doc);
				res.removed.push_back(s.what);
				cut = true;
				break;
			}
		}
	}
	auto last = only_case(doc, source, contract);
	res.objects_after = (int)doc["objects"].size();
	res.steps_after = (int)last->steps.size();
	res.minimal_id = last->id;
	doc["description"] = "Minimised from " + res.id + " by luo-rig minimize; fails with: " +
			     res.signature;
	res.file = out / "minimal.json";
	write_file_atomic(res.file, doc.dump(2) + "\n");
	return res;
}

std::string render_minimize(const MinimizeResult &r)
{
	std::ostringstream o;
	o << r.id << ": " << r.signature << "\n";
	o << "failed " << r.measured_failed << " of " << r.measured_runs << " runs";
	if (r.runs_per_try > 1)
		o << ": flaky, so each cut was run up to " << r.runs_per_try
		  << " times and kept if any run failed the same way";
	o << "\n";
	for (const auto &w : r.removed)
		o << "  - " << w << "\n";
	o << "objects " << r.objects_before << " -> " << r.objects_after << ", steps "
	  << r.steps_before << " -> " << r.steps_after << ", " << r.tries << " VM runs\n";
	o << "minimal case " << r.minimal_id << " in " << r.file.string() << "\n";
	return o.str();
}

} // namespace luo::host
