// SPDX-License-Identifier: GPL-2.0-only
//
// What a selftest's output, exit status and the VM around it mean: one
// verdict per selftest, in the classes the suite's cases use.
#pragma once

#include <string>
#include <vector>

#include "host/run/verdict.hpp"
#include "host/selftests/catalog.hpp"
#include "host/vm/qemu.hpp"

namespace luo::host {

// The case id and scenario a selftest is reported under.
inline constexpr const char *kSelftestScenario = "selftests";
std::string selftest_id(const std::string &name);

// What the program's KTAP says, as far as a verdict needs it.
struct KtapSummary {
	std::vector<std::string> failed;   // "not ok" lines without a SKIP
	std::string skip_reason;           // the first "# SKIP" reason
	std::string bail_out;              // "Bail out! ..." text
	bool bailed = false;               // a "Bail out!" line, even with no text
	int ok = 0, not_ok = 0, skipped = 0;
	// The top-level plan ("1..N", -1 when none) and the top-level results
	// counted against it; nested (indented) subtests have plans of their own.
	int planned = -1, results = 0;
};
KtapSummary parse_ktap(const std::string &output);

struct StageJudgement {
	Verdict verdict = Verdict::pass;   // pass, fail or skip
	std::string message;
};

// One stage's exit status (kselftest's codes: 0 pass, 4 skip, 2 xfail; any
// other status or a signal fails) read together with its KTAP, which has
// the last word: a "Bail out!", a "not ok" (not a SKIP), or fewer results
// than its plan fail the stage whatever the program's exit status.
StageJudgement judge_stage(int exit_code, int signal, const std::string &output);

// Every selftest of one VM: its events, the console (a splat inside a
// selftest's begin/end markers is that selftest's crash, one outside them
// every selftest's), and how the VM ended.
std::vector<CaseResult> judge_selftests(const std::vector<SelftestInfo> &tests, const VmResult &vm,
					const std::string &console);

// A result for a selftest that never reached a VM (absent, did not build).
CaseResult skipped_selftest(const std::string &name, const std::string &reason);

} // namespace luo::host
