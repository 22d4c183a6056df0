// SPDX-License-Identifier: GPL-2.0-only
#include "contract.hpp"

namespace luo::core {

Contract Contract::agreed()
{
	Contract c;
	c.name = "agreed";
	return c;
}

Contract Contract::strict()
{
	Contract c;
	c.name = "strict";
	c.preserve_needs_dependency = true;
	c.retrieve_needs_dependency = true;
	// The dependency is always user-retrieved first, so nothing is left for
	// the kernel to retrieve on the dependent's behalf.
	c.retrieve_binds_dependency = false;
	return c;
}

std::optional<Contract> Contract::by_name(const std::string &name)
{
	if (name == "agreed")
		return agreed();
	if (name == "strict")
		return strict();
	return std::nullopt;
}

std::vector<std::string> Contract::names()
{
	return {"agreed", "strict"};
}

} // namespace luo::core
