// SPDX-License-Identifier: GPL-2.0-only
//
// What happened to each case over all the VMs it ran in, and the final word
// on batch failures that no single case could be blamed for.
//
// A failed batch is rerun in halves.  A rerun explains the failure only when
// it shows the same failure: each kernel report of the batch (by signature)
// seen again in a VM that ran one of its cases alone, a hang by a case that
// hangs alone, a refused kexec by a case whose own kexec is refused.  What
// no rerun reproduces still happened: an unexplained splat makes the cases
// that passed `crash` ("not reproduced alone") and is added to the report of
// those that failed otherwise; any other unexplained failure makes the
// passing cases `flaky`.  Green never hides a failed batch, and one case's
// failure never explains away another's.
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
	std::vector<Splat> splats;               // the batch's kernel reports
	int attempt = 1;                         // its cases' attempt number in that VM
};

class RunHistory {
public:
	// Records a failed batch; returns its index.
	int add_failure(BatchFailure f);
	// One more VM ran this case, as its `attempt`-th, in a batch of
	// `batch_size`, and its console had these report signatures.
	void note_attempt(const core::Case *c, int attempt, size_t batch_size,
			  std::vector<std::string> splat_signatures);

	// Rewrites the final verdicts of cases whose batch failure no rerun
	// explained.
	void resolve(std::map<const core::Case *, CaseResult> &results) const;

	const std::vector<BatchFailure> &failures() const { return failures_; }

private:
	struct Attempt {
		int number = 0;
		size_t batch_size = 0;
		std::vector<std::string> splats;
	};
	bool reproduced_alone(const BatchFailure &f, const std::string &signature) const;
	// Reruns of `c` after the failure's VM, and how many showed `signature`.
	std::pair<int, int> reruns(const core::Case *c, const BatchFailure &f,
				   const std::string &signature) const;

	std::vector<BatchFailure> failures_;
	std::map<const core::Case *, std::vector<Attempt>> attempts_;
};

} // namespace luo::host
