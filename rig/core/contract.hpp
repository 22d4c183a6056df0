// SPDX-License-Identifier: GPL-2.0-only
//
// A dependency contract as a set of rule switches, so the oracle stays one
// model: "agreed" (docs/design.md section 3, C1-C8) and "strict" (the alternative
// argued on the list: dependency preserved first and retrieved first) differ
// only in these fields, and a third contract is one more factory.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace luo::core {

struct Contract {
	std::string name;

	// Strict S1 (replaces C1): PRESERVE_FD of a dependent fails unless its
	// dependency is already preserved in the same session.
	bool preserve_needs_dependency = false;
	std::string preserve_dependency_err = "ENOENT";

	// C2: freeze (the kexec reboot) fails while a preserved file's
	// dependency is not preserved in the same session.
	bool freeze_needs_dependency = true;
	std::string freeze_dependency_err = "ENOENT";

	// Strict S3 (replaces C3's "any order"): RETRIEVE_FD of a dependent fails
	// until userspace has retrieved the dependency; the failure changes
	// nothing, so retrying after retrieving the dependency succeeds.
	bool retrieve_needs_dependency = false;
	std::string retrieve_dependency_err = "ENOENT";

	// C3: retrieving a dependent retrieves its dependency inside the kernel.
	bool retrieve_binds_dependency = true;

	// C4: FINISH fails while a file userspace retrieved has a dependency
	// userspace did not retrieve itself.
	bool finish_needs_user_dependency = true;
	std::string finish_dependency_err = "EBUSY";

	static Contract agreed();
	static Contract strict();
	static std::optional<Contract> by_name(const std::string &name);
	static std::vector<std::string> names();
};

} // namespace luo::core
