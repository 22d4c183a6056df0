// SPDX-License-Identifier: GPL-2.0-only
//
// The selftest plan: which of a kernel tree's LUO selftests the guest runner
// (luo-selftests) runs, and how each is staged.  Like the mock VMM's plan it
// says what to run, never what the outcome should be.
#pragma once

#include <string>
#include <vector>

namespace luo::protocol {

inline constexpr int kSelftestPlanVersion = 2;

// Where the runner finds the plan and the programs inside the image.
inline constexpr const char *kSelftestDir = "/selftests";
inline constexpr const char *kSelftestPlan = "/selftests/plan.json";

struct SelftestSpec {
	std::string name;        // the program, /selftests/<name>
	// Two stages (`-s 1` before the kexec, `-s 2` after it) or one run in
	// the first kernel.
	bool two_stage = false;
	// Runs with the plan's device bound to vfio-pci and named in
	// VFIO_SELFTESTS_BDF, as the VFIO selftests expect.
	bool device = false;
};

struct SelftestPlan {
	int version = kSelftestPlanVersion;
	std::vector<SelftestSpec> tests;   // in the order they run
	std::string device;                // PCI address ("0000:00:04.0") or ""
};

std::string selftest_plan_to_json(const SelftestPlan &plan);
// Throws std::runtime_error naming what is wrong.
SelftestPlan selftest_plan_from_json(const std::string &text);

} // namespace luo::protocol
