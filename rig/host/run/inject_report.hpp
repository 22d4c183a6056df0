// SPDX-License-Identifier: GPL-2.0-only
//
// What --inject fail-nth reached: error paths per operation, for the summary
// a kernel developer reads to know how much of the failure handling a run
// actually tried.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/case.hpp"
#include "host/run/verdict.hpp"
#include "protocol/plan.hpp"

namespace luo::host {

struct InjectTotals {
	int steps = 0;       // steps of this op that ran under injection
	long paths = 0;      // error paths reached, over all those steps
	unsigned most = 0;   // the most one step reached
	long absorbed = 0;   // injected failures a call got over (a fallback)
	int untouched = 0;   // steps whose call reached no injection point
	// RETRIEVE_FD, walked on copies: the points its calls pass, summed
	// over the steps, those of them no copy was spent on, and the steps
	// that left some (more points than copies: a spread tried, not each).
	long points = 0;
	long untried = 0;
	int sampled = 0;
};

// Per op name ("preserve", "retrieve"...), over the executed steps of the
// cases.  A kexec a batch shares counts once per case that went through it.
std::map<std::string, InjectTotals> inject_totals(const std::vector<CaseResult> &cases);

// Why a batch run under fail-nth proves nothing: steps that fail-nth arms
// ran, and not one of them reached an injection point, so the kernel's
// fault injection did not act (no failslab, a filter that spares every
// cache...) and every call ran once, as in a plain run.  Empty when some
// call reached one, or when no armed step ran (the VM died first: that is
// judged on its own).
std::string nothing_injected(const std::vector<CaseResult> &cases);

// --inject race.  Whether a case holds an object the racers change
// (guest/racer.hpp): without one a race run is a plain run.
bool has_race_target(const std::vector<core::Case> &cases);
// Why a batch run under race proves nothing: it holds objects the racers
// change, its racing steps ran, and the racers made no change at all.
std::string nothing_raced(const protocol::Plan &plan, const std::vector<CaseResult> &cases);
// "race: 812 changes while 40 steps ran (kexec 3 steps, 420 changes; ...)",
// one line.  As in inject_totals, a kexec a batch shares counts once per
// case that went through it, its changes with it.
std::string race_summary(const std::vector<CaseResult> &cases);

// "fail-nth: preserve 40 steps, 312 error paths (at most 11), ...", one
// line; empty when nothing was injected.
std::string inject_summary(const std::vector<CaseResult> &cases);

} // namespace luo::host
