// SPDX-License-Identifier: GPL-2.0-only
//
// Guest image recipes: images/NAME.json says what goes into an initramfs, so
// that putting one more tool into the shell image is an edit to a data file.
// The format is documented in images/README.md.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "host/image/initramfs.hpp"

namespace luo::host {

// What a recipe's "@name" stands for: a host file or directory, or text the
// rig made (the plan).
struct ImageInput {
	std::filesystem::path path;  // empty: the input is `content`
	std::string content;

	static ImageInput host(std::filesystem::path p) { return {std::move(p), {}}; }
	static ImageInput literal(std::string text) { return {{}, std::move(text)}; }
};

// Keyed by the name without its '@'.
using ImageInputs = std::map<std::string, ImageInput>;

// source_root()/images: the rig's own recipes.
std::filesystem::path images_dir();

// "vmm" is images_dir()/vmm.json; anything with a '/' or ending in ".json" is
// a path to a recipe.
std::filesystem::path image_recipe_path(const std::string &name_or_path);

// Reads and checks a recipe and resolves its sources; throws SetupError
// naming the file, the place and the fix.  Every source is checked to exist
// here, so a bad recipe fails before any VM is started.
std::vector<ImageEntry> load_image(const std::string &name_or_path, const ImageInputs &inputs);

// The same from text: `file` names it in messages, and relative "from" paths
// resolve against `base`.
std::vector<ImageEntry> parse_image(const std::string &text, const std::string &file,
				    const std::filesystem::path &base, const ImageInputs &inputs);

// The rig's guest images, from images/vmm.json, or images/shell.json when
// `busybox` is given: the inputs are @vmm, @kernel, @plan and @busybox.
std::vector<ImageEntry> guest_image(const std::filesystem::path &vmm,
				    const std::filesystem::path &kernel,
				    const std::string &plan_json,
				    const std::filesystem::path &busybox = {});

} // namespace luo::host
