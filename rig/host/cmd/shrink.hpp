// SPDX-License-Identifier: GPL-2.0-only
//
// The smaller stories a case can be cut down to, as scenario documents: pure
// JSON surgery, no VM.  Documents keep their key order: objects and sessions
// are created in declaration order, and an object's token is its position.  `luo-rig minimize` runs them and keeps a cut while
// the failure keeps its signature.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace luo::host {

struct CaseOrders {
	std::string scenario;
	std::vector<std::string> preserve, restore;
};

// "kvm-gmem/p:gmem,vm/r:-" -> {kvm-gmem, [gmem, vm], []}; nullopt when the
// id is not of that shape.
std::optional<CaseOrders> parse_case_id(const std::string &id);

// The scenario document reduced to the one case: explicit orders, no
// explicit expectations (the oracle's stand), device count left to be
// counted.
nlohmann::ordered_json single_case(const nlohmann::ordered_json &scenario,
				   const CaseOrders &orders);

struct Shrink {
	std::string what;      // "drop object iommu (and vfio)"
	nlohmann::ordered_json doc;
};

// Every one-step cut of a single-case document: an object with what
// depends on it, a session with its objects, a fault action, one restore,
// a FINISH position.  Cuts that leave nothing to test are not offered.
// `doc` must be a valid scenario (the parser resolves its dependencies).
std::vector<Shrink> shrink_candidates(const nlohmann::ordered_json &doc);

} // namespace luo::host
