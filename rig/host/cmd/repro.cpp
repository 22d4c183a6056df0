// SPDX-License-Identifier: GPL-2.0-only
#include "host/cmd/repro.hpp"

#include <iostream>
#include <sstream>

#include "core/expand.hpp"
#include "host/run/contracts.hpp"
#include "host/run/signature.hpp"
#include "host/run/suite.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"

namespace luo::host {

namespace fs = std::filesystem;

core::Case resolve_case(const RunConfig &run, const std::string &id)
{
	auto contract = resolve_contract(run.contract);
	auto hits = filter_cases(core::expand_files(scenario_files(run.scenarios), contract), {id});
	if (hits.empty())
		throw SetupError(id + ": no such case; `luo-rig plan scenarios` lists the ids (the id "
				      "of a failure is in results.ktap and results.json)");
	if (hits.size() > 1)
		throw SetupError(id + ": matches " + std::to_string(hits.size()) + " cases (" +
				 hits[0].id + ", " + hits[1].id + ", ...); give one case id");
	return std::move(hits[0]);
}

ReproResult reproduce(const ReproConfig &cfg)
{
	if (cfg.runs < 1)
		throw SetupError("--runs " + std::to_string(cfg.runs) + ": at least 1");
	ReproResult res;
	res.id = resolve_case(cfg.run, cfg.id).id;
	fs::path base = cfg.run.out_dir.empty()
				? fs::path("luo-rig-runs") / ("repro-" + std::to_string(getpid()))
				: cfg.run.out_dir;
	for (int i = 1; i <= cfg.runs; i++) {
		RunConfig run = cfg.run;
		// Globs would match more than the case itself: escape by exact id.
		run.cases = {res.id};
		run.out_dir = base / ("run-" + std::to_string(i));
		run.quiet = true;
		run.summary = false;
		run.bisect = false;
		run.baseline.clear();
		std::cerr << "luo-rig repro: run " << i << " of " << cfg.runs << "\n";
		auto rep = run_suite(run);
		if (rep.cases.size() != 1)
			throw SetupError("repro " + res.id + ": the run judged " +
					 std::to_string(rep.cases.size()) + " cases, expected 1");
		const auto &c = rep.cases[0];
		res.runs++;
		if (c.verdict == Verdict::pass)
			continue;
		if (c.verdict == Verdict::infra || c.verdict == Verdict::setup) {
			(c.verdict == Verdict::infra ? res.infra : res.setup)++;
			if (res.unjudged_why.empty())
				res.unjudged_why = std::string(to_string(c.verdict)) + ": " + c.message +
						   " (" + c.vm_dir + ")";
			continue;
		}
		res.failed++;
		res.signatures[failure_signature(c)]++;
		if (res.first_failure_dir.empty())
			res.first_failure_dir = c.vm_dir;
	}
	return res;
}

std::string render_repro(const ReproResult &r)
{
	std::ostringstream o;
	int unjudged = r.infra + r.setup;
	o << r.id << ": failed " << r.failed << " of " << r.runs << " runs";
	if (unjudged)
		o << " (" << unjudged << " said nothing about the kernel: " << r.infra << " infra, "
		  << r.setup << " setup)";
	o << "\n";
	if (unjudged && r.failed == 0)
		o << "  no verdict: a run that was infra or setup is no pass, so the case is not "
		     "cleared; first: "
		  << r.unjudged_why << "\n";
	for (const auto &[sig, n] : r.signatures)
		o << "  " << n << "x " << sig << "\n";
	if (r.signatures.size() > 1)
		o << "  more than one signature: the failure depends on timing, or on more "
		     "than this case\n";
	if (!r.first_failure_dir.empty())
		o << "first failing VM: " << r.first_failure_dir << "\n";
	return o.str();
}

int repro_exit_code(const ReproResult &r)
{
	if (r.failed > 0)
		return kExitFail;
	if (r.setup > 0)
		return kExitSetup;
	return r.infra > 0 ? kExitInfra : kExitPass;
}

} // namespace luo::host
