// SPDX-License-Identifier: GPL-2.0-only
//
// The signature of a failure: what stays the same when the same bug is hit
// again (the first wrong step with expected and observed, or the crash
// title), without what changes from run to run (times, addresses, VM names).
#pragma once

#include <string>

#include "host/run/verdict.hpp"

namespace luo::host {

// Empty for a pass.
std::string failure_signature(const CaseResult &r);

} // namespace luo::host
