// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig plan --diff A B`: the cases and steps where two contracts demand
// different outcomes of the same scenarios.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/case.hpp"

namespace luo::core {

struct StepDiff {
	std::size_t index;   // 0-based step of the case
	std::string a, b;    // step_text() under each contract, "" where it has none
};

struct CaseDiff {
	std::string id;
	std::vector<StepDiff> steps;
};

struct PlanDiff {
	std::string a, b;          // contract names
	std::size_t cases = 0;     // cases compared
	std::size_t steps = 0;     // steps that differ, over all cases
	std::vector<CaseDiff> differing;
	std::vector<std::string> only_a, only_b;  // ids one contract expands and the other not
};

PlanDiff diff_plans(const std::string &a_name, const std::vector<Case> &a, const std::string &b_name,
		    const std::vector<Case> &b);

// A summary line, then a line per differing step.
std::string render_plan_diff(const PlanDiff &d);
nlohmann::json plan_diff_json(const PlanDiff &d);

} // namespace luo::core
