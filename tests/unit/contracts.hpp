// SPDX-License-Identifier: GPL-2.0-only
//
// The contracts that come with the rig, read from scenarios/contracts/ as a
// run reads them.
#pragma once

#include <string>
#include <vector>

#include "core/contract.hpp"
#include "core/scenario.hpp"
#include "host/run/contracts.hpp"
#include "host/util/paths.hpp"

namespace luo::test {

// Contracts with marked HWPTs (P7), without and with the device's own rule
// (P8); marked HWPTs need devices retrieved unbound.
inline constexpr const char *kMarked = R"({"kinds": {"iommufd": {"preserve": {"carries": "marked-hwpts"}},
	"vfio-cdev": {"retrieve": {"returns": "unbound"}}}})";
inline constexpr const char *kMarkedDevice = R"({"kinds": {"iommufd": {"preserve": {"carries": "marked-hwpts"}},
	"vfio-cdev": {"retrieve": {"returns": "unbound"}, "preserve": {"hwpt": "marked"}}}})";

// One case in the posted order: a memfd, the iommufd that maps it, a device
// bound to that iommufd; for the rules of marked HWPTs.
inline constexpr const char *kMemIommuVfio = R"({
  "objects": {"mem": "memfd", "iommu": {"kind": "iommufd", "depends_on": "mem"},
	      "vfio": {"kind": "vfio-cdev", "depends_on": "iommu"}},
  "preserve": [["mem", "iommu", "vfio"]],
  "restore": [["mem", "iommu", "vfio"]]
})";

inline core::Contract shipped(const std::string &name)
{
	return host::resolve_contract(name);
}

// posted-2026 with an iommufd that restores (no P9, no P10): VFIO's own
// rules decide there, as under posted-2026 they cannot.
inline core::Contract posted_restoring()
{
	return host::resolve_contract(
		(host::source_root() / "tests/data/contracts/posted-2026-restoring.json").string());
}

inline std::vector<std::string> shipped_names()
{
	return host::contract_names();
}

// What parse_contract says of `text` read as "c.json": its error, or
// "(accepted)".
inline std::string contract_error_of(const std::string &text)
{
	try {
		core::parse_contract(text, "c.json");
	} catch (const core::ScenarioError &e) {
		return e.what();
	}
	return "(accepted)";
}

} // namespace luo::test
