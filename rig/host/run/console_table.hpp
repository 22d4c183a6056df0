// SPDX-License-Identifier: GPL-2.0-only
//
// The kernel's report formats, as data: which console line opens a report,
// what kind it is, and how its title is made.  The scanner (console.cpp)
// and the stack walker (console_frames.cpp) know nothing of any one format.
#pragma once

#include <span>

namespace luo::host {

// Where a report's guilty function is found.
enum class FrameFrom {
	none,	   // the title has no function
	rip,	   // the kernel RIP line only
	rip_trace, // the RIP line, then the call trace
	trace,	   // the call trace only
	header,	   // the function named on the opening line (group 2), then the trace
	at,	   // "at: func" lines (lockdep), after `marker` if given, then the trace
	at_first,  // the first "at: func" line after `marker`, whatever function it is
	after,	   // the frames that follow the `marker` line (kmemleak backtrace, ...)
	stall,	   // the trace, taking a representative frame of a looping task
	hang,	   // the trace of a blocked task, past the waiting primitives
};

struct ReportRule {
	const char *kind;    // coarse family, e.g. "KASAN", "WARNING", "lockdep"
	const char *literal; // cheap prefilter: the line must contain it
	const char *start;   // regex on the line (ECMAScript); group 1 may feed the title
	// The title: "{1}" is the start's group 1, "{f}" the guilty function,
	// "{rw}" the access ("Read"/"Write") from a later "of size" line.
	const char *title;
	FrameFrom frames = FrameFrom::none;
	const char *skip = nullptr;   // more frames to skip (regex), on top of the common list
	const char *marker = nullptr; // for `at` and `after`
	// A line that announces the report printed right after it ("cut
	// here", "refcount_t: underflow"): a report starting within a few lines
	// takes it over; alone, it stands for itself.
	bool preamble = false;
	// A line of the report that must match (regex), else the next rule
	// that matches the header names it.
	const char *needs = nullptr;
};

// In order: the first rule that matches a line names it.
std::span<const ReportRule> report_rules();

// Lines that contain a rule's literal but report nothing (regexes).
std::span<const char *const> report_ignores();

} // namespace luo::host
