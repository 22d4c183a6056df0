// SPDX-License-Identifier: GPL-2.0-only
//
// The order in which the mock VMM serves the sessions of a batch.  Cases are
// independent, so any interleaving that keeps each case's own steps in order
// must give every case the same outcomes; a kernel that answers one session
// from another's state only shows under some of them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace luo::host {

struct Schedule {
	enum class Kind {
		sequential,   // case after case, in batch order
		reversed,     // case after case, last case first
		round_robin,  // the first step of every case, then the second, ...
		random,       // at each step a case drawn with a seeded PRNG
		threads,      // the cases dealt to `threads` VMM threads running at once
	};
	Kind kind = Kind::sequential;
	std::uint64_t seed = 0;   // random
	int threads = 0;          // threads
};

// "sequential", "reversed", "round-robin", "random:SEED", "threads:N".
// Throws SetupError naming the forms it takes.
Schedule parse_schedule(const std::string &text);
std::string to_string(const Schedule &s);

// The order in which to serve steps of cases whose own step lists have these
// sizes: (case, step) pairs, each case's steps in their order.  For
// `threads`, the order is case after case; thread_of() deals the cases.
std::vector<std::pair<int, int>> interleave(const std::vector<int> &sizes, const Schedule &s);
// The VMM thread (1..N) that serves the k-th case of a segment; 0 when the
// schedule runs on the main thread.
std::uint32_t thread_of(int k, const Schedule &s);

// The schedules the default suite's VMs take in turn when none is asked for.
std::vector<Schedule> default_schedules();

} // namespace luo::host
