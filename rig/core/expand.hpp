// SPDX-License-Identifier: GPL-2.0-only
//
// Scenario -> concrete cases, each with the oracle's expectation per step.
//
// Case ids: "<scenario>/p:<preserve order>/r:<restore order>", object names
// joined by ',' ("-" for the empty restore), pinned objects left out.  They
// depend only on the file, never on the contract or on how an order was
// chosen ("all", a list or a random draw give the same id for the same
// order), so a failing case can be rerun alone by id.
#pragma once

#include <string>
#include <vector>

#include "core/case.hpp"
#include "core/contract.hpp"
#include "core/scenario.hpp"

namespace luo::core {

using Order = std::vector<std::string>;

// The orders a spec chooses, in a stable sequence.  Preserve orders list
// every non-pinned object; restore orders are ordered subsets of them.
std::vector<Order> preserve_orders(const Scenario &sc);
std::vector<Order> restore_orders(const Scenario &sc);

std::string case_id(const Scenario &sc, const Order &preserve, const Order &restore);

// Builds every case; throws ScenarioError when an explicit expectation in
// the file disagrees with the oracle.
std::vector<Case> expand(const Scenario &sc, const Contract &contract);

// Loads and expands several files; throws ScenarioError on duplicate case
// ids across them (two files with the same scenario name).
std::vector<Case> expand_files(const std::vector<std::string> &paths, const Contract &contract);

// Checks the file's explicit expectations against expanded cases.
void check_expectations(const Scenario &sc, const std::vector<Case> &cases);

} // namespace luo::core
