// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/history.hpp"

#include <algorithm>

namespace luo::host {

namespace {

// A verdict that says the kernel misbehaved in this very case.
bool owns_failure(Verdict v)
{
	return v == Verdict::violation || v == Verdict::crash || v == Verdict::hang;
}

// Whether a case's own final result shows the failure its batch had
// (splats are matched by signature elsewhere).
bool shows_same_failure(const BatchFailure &f, const CaseResult &r)
{
	using C = BatchOutcome::Cause;
	switch (f.cause) {
	case C::hang:
		return r.verdict == Verdict::hang;
	case C::kexec_refused:
		// Its own kexec refused, alone: the same refusal.
		return r.verdict == Verdict::violation && r.failed_step >= 0 &&
		       r.failed_step < (int)r.steps.size() &&
		       r.steps[r.failed_step].op == protocol::Op::kexec;
	default:
		return owns_failure(r.verdict);
	}
}

} // namespace

int RunHistory::add_failure(BatchFailure f)
{
	failures_.push_back(std::move(f));
	return (int)failures_.size() - 1;
}

void RunHistory::note_attempt(const core::Case *c, int attempt, size_t batch_size,
			      std::vector<std::string> splat_signatures)
{
	attempts_[c].push_back({attempt, batch_size, std::move(splat_signatures)});
}

bool RunHistory::reproduced_alone(const BatchFailure &f, const std::string &signature) const
{
	for (const auto *c : f.cases) {
		auto it = attempts_.find(c);
		if (it == attempts_.end())
			continue;
		for (const auto &a : it->second)
			if (a.batch_size == 1 && std::count(a.splats.begin(), a.splats.end(), signature))
				return true;
	}
	return false;
}

std::pair<int, int> RunHistory::reruns(const core::Case *c, const BatchFailure &f,
				       const std::string &signature) const
{
	int n = 0, again = 0;
	auto it = attempts_.find(c);
	if (it == attempts_.end())
		return {0, 0};
	for (const auto &a : it->second) {
		if (a.number <= f.attempt)
			continue;
		n++;
		again += std::count(a.splats.begin(), a.splats.end(), signature) > 0;
	}
	return {n, again};
}

void RunHistory::resolve(std::map<const core::Case *, CaseResult> &results) const
{
	for (const auto &f : failures_) {
		if (f.cause == BatchOutcome::Cause::splat && !f.splats.empty()) {
			// Every report on its own: one case's WARNING seen again
			// explains that WARNING, not its neighbour's KASAN.
			std::vector<const Splat *> lost;
			for (const auto &s : f.splats)
				if (!reproduced_alone(f, s.signature))
					lost.push_back(&s);
			if (lost.empty())
				continue;
			for (const auto *c : f.cases) {
				auto it = results.find(c);
				if (it == results.end())
					continue;
				auto &r = it->second;
				auto [n, again] = reruns(c, f, lost.front()->signature);
				std::string seen = " (not reproduced alone: " + std::to_string(again) +
						   " of " + std::to_string(n) + " reruns; first seen in " +
						   f.vm + ")";
				std::string excerpts;
				for (const auto *s : lost)
					excerpts += s->excerpt;
				if (r.verdict == Verdict::pass) {
					r.verdict = Verdict::crash;
					r.message = lost.front()->message + seen;
					if (lost.size() > 1)
						r.message += " and " + std::to_string(lost.size() - 1) +
							     " more kernel report(s) of that batch";
					r.diagnostic += excerpts;
				} else {
					// It fails anyway; the report it could not own
					// is still shown with it.
					for (const auto *s : lost)
						r.diagnostic += "its batch in " + f.vm + " also had " +
								s->message +
								", which no case reproduced alone\n";
					r.diagnostic += excerpts;
				}
			}
			continue;
		}
		bool explained = false;
		for (const auto *c : f.cases)
			if (auto it = results.find(c); it != results.end() && shows_same_failure(f, it->second))
				explained = true;
		if (explained)
			continue;
		for (const auto *c : f.cases) {
			auto it = results.find(c);
			if (it == results.end() || it->second.verdict != Verdict::pass)
				continue;
			auto &r = it->second;
			if (f.cause == BatchOutcome::Cause::splat) {
				// A splat batch recorded without its reports: the
				// whole batch is what is known.
				auto [n, again] = reruns(c, f, "");
				r.verdict = Verdict::crash;
				r.message = f.why + " (not reproduced alone: " + std::to_string(again) +
					    " of " + std::to_string(n) + " reruns; first seen in " + f.vm + ")";
			} else {
				r.verdict = Verdict::flaky;
				r.message = "passed on rerun, but its batch in " + f.vm + " failed first (" +
					    to_string(f.cause) + "): " + f.why;
			}
			if (!f.last_event.empty())
				r.diagnostic += "last event of " + f.vm + ": " + f.last_event + "\n";
			r.diagnostic += f.excerpt;
		}
	}
}

} // namespace luo::host
