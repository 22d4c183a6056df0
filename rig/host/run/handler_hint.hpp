// SPDX-License-Identifier: GPL-2.0-only
//
// A kernel without a Live Update handler for a kind answers every
// PRESERVE_FD of such a file with ENOENT (luo_file.c: no handler's
// can_preserve() takes it).  The contract then turns every case with that
// kind red, each for a C1 that says nothing of why.  That verdict stands
// (a series meant to register the handler failed to), but the run names
// the likely cause once, for the developer who pointed the suite at a tree
// that never had the handler.
#pragma once

#include <string>
#include <vector>

#include "core/case.hpp"
#include "host/run/verdict.hpp"

namespace luo::host {

// One line per kind whose every PRESERVE_FD that ran, and that the
// contract expected to succeed, failed with ENOENT.
std::vector<std::string> missing_handler_hints(const std::vector<core::Case> &cases,
					       const std::vector<CaseResult> &results);

} // namespace luo::host
