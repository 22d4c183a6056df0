// SPDX-License-Identifier: GPL-2.0-only
//
// Config fragments: which options a run asks for, and whether they survived
// olddefconfig.  A tree without LIVEUPDATE must stop here, before a build.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "host/util/errors.hpp"

namespace luo::host {

struct ConfigRequest {
	std::string option;      // CONFIG_FOO
	std::string value;       // "y", "m", "\"str\"", "123", or "n" for "is not set"
	std::filesystem::path fragment;
	int line = 0;
};

// The tree's Kconfig dropped or changed an option the fragments ask for:
// the input is wrong, not the objects, so no build from scratch can help.
struct ConfigError : SetupError {
	using SetupError::SetupError;
};

struct ConfigMismatch {
	ConfigRequest wanted;
	std::string got;         // "n" when not set or absent
};

// Parses a fragment; malformed lines raise SetupError naming file:line.
std::vector<ConfigRequest> parse_fragment(const std::filesystem::path &file,
					  const std::string &text);

// Compares the requests with the text of a .config.
std::vector<ConfigMismatch> verify_config(const std::vector<ConfigRequest> &wanted,
					  const std::string &dot_config);

// The message that names every option that did not survive, and the fix.
std::string describe_mismatches(const std::vector<ConfigMismatch> &missing,
				const std::string &source_label);

// The rig's fragments (kernel-config/*.config), in name order.
std::vector<std::filesystem::path> default_fragments();

// The kernel flavours: "default" and every folder of fragments under
// kernel-config/ (e.g. debug/).
std::vector<std::string> kernel_flavours();

// The fragments a flavour adds on top of the base ones; throws SetupError,
// listing the flavours, for an unknown name.
std::vector<std::filesystem::path> flavour_fragments(const std::string &flavour);

} // namespace luo::host
