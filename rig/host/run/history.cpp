// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/history.hpp"

namespace luo::host {

namespace {

// A verdict that says the kernel misbehaved in this very case.
bool owns_failure(Verdict v)
{
	return v == Verdict::violation || v == Verdict::crash || v == Verdict::hang;
}

} // namespace

int RunHistory::add_failure(BatchFailure f)
{
	failures_.push_back(std::move(f));
	return (int)failures_.size() - 1;
}

void RunHistory::note_attempt(const core::Case *c, bool splat)
{
	attempts_[c]++;
	if (splat)
		splats_[c]++;
}

void RunHistory::resolve(std::map<const core::Case *, CaseResult> &results) const
{
	for (const auto &f : failures_) {
		bool explained = false;
		for (const auto *c : f.cases)
			if (auto it = results.find(c); it != results.end() && owns_failure(it->second.verdict))
				explained = true;
		if (explained)
			continue;
		for (const auto *c : f.cases) {
			auto it = results.find(c);
			if (it == results.end() || it->second.verdict != Verdict::pass)
				continue;
			auto &r = it->second;
			auto count = [&](const std::map<const core::Case *, int> &m) {
				auto at = m.find(c);
				return at == m.end() ? 0 : at->second;
			};
			// The first VM showed the failure; the reruns are the rest.
			int reruns = std::max(0, count(attempts_) - 1);
			int again = std::max(0, count(splats_) - 1);
			if (f.cause == BatchOutcome::Cause::splat) {
				r.verdict = Verdict::crash;
				r.message = f.why + " (not reproduced alone: " + std::to_string(again) +
					    " of " + std::to_string(reruns) + " reruns; first seen in " +
					    f.vm + ")";
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
