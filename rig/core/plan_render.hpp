// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig plan FILES [--json] [--contract agreed|strict]`: what would run
// and what the oracle expects, without booting anything.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/case.hpp"

namespace luo::core {

// "ok", an errno name, or "error" (any errno).
std::string expect_text(const Expect &e);

// One step, e.g. "preserve(s,gmem,2)=ok:C1", "kexec=ENOENT:C2".
std::string step_text(const CaseStep &s);

// One line per case: the id, then every step with its expectation.
std::string render_plan_text(const std::vector<Case> &cases);

nlohmann::json case_json(const Case &c);
// {"cases": N, "refusing_kexec": N, "vfio_devices_max": N, "plan": [case...]}
nlohmann::json plan_json(const std::vector<Case> &cases);

} // namespace luo::core
