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

namespace luo::test {

inline core::Contract shipped(const std::string &name)
{
	return host::resolve_contract(name);
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
