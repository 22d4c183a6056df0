// SPDX-License-Identifier: GPL-2.0-only
//
// What happened to each case over all the VMs it ran in, and the final word
// on batch failures that no single case could be blamed for.
//
// A failed batch is rerun in halves.  When a rerun reproduces the failure in
// some case (a violation, crash or hang of its own), the failure is explained
// and the other cases' later passes are plain passes.  When nothing reproduces
// it, the failure still happened: a splat makes its cases `crash` ("not
// reproduced alone"), anything else makes them `flaky`.  Green never hides a
// failed batch.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/case.hpp"
#include "host/run/judge.hpp"
#include "host/run/verdict.hpp"

namespace luo::host {

struct BatchFailure {
	BatchOutcome::Cause cause{};
	std::string vm, why, last_event, excerpt;
	std::vector<const core::Case *> cases;   // left unsettled by it
};

class RunHistory {
public:
	// Records a failed batch; returns its index.
	int add_failure(BatchFailure f);
	// One more VM ran this case; `splat` says whether its console had one.
	void note_attempt(const core::Case *c, bool splat);

	// Rewrites the final verdicts of cases whose batch failure no rerun
	// explained.
	void resolve(std::map<const core::Case *, CaseResult> &results) const;

	const std::vector<BatchFailure> &failures() const { return failures_; }

private:
	std::vector<BatchFailure> failures_;
	std::map<const core::Case *, int> attempts_, splats_;
};

} // namespace luo::host
