// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig run --baseline FILE`: judge a run against what was already known
// to fail, so a developer's series is gated on the failures it introduces,
// not on the ones it inherited.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/run/verdict.hpp"

namespace luo::host {

struct Baseline {
	std::filesystem::path file;
	// A previous results.json: how each of its cases failed, and what the
	// run was (a failure is known only under the same conditions).
	bool from_results = false;
	struct Previous {
		std::string id, verdict;
		std::string signature;  // failure_signature(); empty for a pass
	};
	std::vector<Previous> previous;
	struct Conditions {
		bool known = false;     // the file says (a luo-rig results.json does)
		std::string contract, flavour;
		std::vector<std::string> knobs;  // sorted
		std::string inject;              // --inject mode, "" for none
	} conditions;
	// A known-failures file: an id or glob, and why it is accepted.
	struct Known {
		std::string pattern, reason;
		std::string verdict;    // empty: any failure of the case is accepted
		std::string signature;  // a glob over failure_signature(); empty: any
	};
	std::vector<Known> known;
};

// Reads and checks FILE before anything boots; throws SetupError naming the
// file and what is wrong with it.
Baseline load_baseline(const std::filesystem::path &file);

// The same, from text already read (the unit tests, and error wording).
Baseline parse_baseline(const std::string &text, const std::filesystem::path &file);

// A results.json baseline is only worth comparing with a run of the same
// contract, fault knobs and kernel flavour: a baseline taken with --fault
// knows failures the knob caused and would hide real ones.  Throws
// SetupError naming the difference and the fix; a known-failures file has
// no conditions and always fits.
void check_baseline_fits(const Baseline &b, const std::string &contract,
			 const std::vector<std::string> &knobs, const std::string &flavour,
			 const std::string &inject = "");

struct BaselineEntry {
	std::string id;        // a case id, or a known-failures glob that is fixed
	std::string verdict;   // now
	std::string was;       // in a previous results.json
	std::string reason;    // from a known-failures file
	// A failure that was known another way: both signatures.
	std::string signature, was_signature;
};

struct BaselineDiff {
	std::string file, kind;                 // kind: "results" or "known-failures"
	std::vector<BaselineEntry> new_failures;   // failing now, not before
	std::vector<BaselineEntry> fixed;          // failing before, passing now
	std::vector<BaselineEntry> still_failing;  // failing both times

	nlohmann::json to_json() const;
	std::string text() const;   // for stderr
};

// Whether a verdict fails the run (infra and setup have exit codes of their
// own and are never "failures" for a baseline).
bool is_failing(Verdict v, bool allow_flaky);
bool is_failing(const std::string &verdict, bool allow_flaky);

BaselineDiff compare_to_baseline(const Baseline &b, const std::vector<CaseResult> &cases,
				 bool allow_flaky);

// Like exit_code_for, but only new failures give 1; setup, infra and an
// empty run keep their own codes (the diff already applied --allow-flaky).
int exit_code_with_baseline(const std::vector<CaseResult> &cases, const BaselineDiff &d);

} // namespace luo::host
