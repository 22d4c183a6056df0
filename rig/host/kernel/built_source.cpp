// SPDX-License-Identifier: GPL-2.0-only
#include "host/kernel/built_source.hpp"

#include <algorithm>

#include "host/kernel/hash.hpp"
#include "host/kernel/patches.hpp"
#include "host/kernel/uapi_headers.hpp"
#include "host/kernel/workspace.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"
#include "host/util/process.hpp"

namespace luo::host {

namespace fs = std::filesystem;

bool touches_userspace(const std::vector<std::string> &paths)
{
	return std::any_of(paths.begin(), paths.end(), [](const std::string &p) {
		return p.rfind("tools/", 0) == 0 || p.rfind("include/uapi/", 0) == 0 ||
		       p.find("/include/uapi/") != std::string::npos;
	});
}

KernelSource built_source(const KernelOptions &kernel)
{
	KernelSource src = source_of(kernel);
	auto patches = patch_list(kernel);
	bool needed = std::any_of(patches.begin(), patches.end(), [](const fs::path &p) {
		return touches_userspace(patched_paths(read_file(p)));
	});
	if (!needed)
		return src;

	Hasher h;
	h.add(src.identity);
	for (const auto &p : patches)
		h.add(p.filename().string()).add_file(p);
	std::string key = h.hex().substr(0, 16);
	fs::path out = cache_root() / "patched-src" / key;
	KernelSource patched{out / "tree", src.identity + " + patches " + key,
			     src.label + " with its " + std::to_string(patches.size()) + " patches",
			     false};
	if (fs::exists(out / "tree"))
		return patched;

	fs::create_directories(out.parent_path());
	StagingDir stage(out);
	fs::path copy = stage.path() / "tree";
	// Hard links: patch(1) writes each file it changes anew, so the
	// source tree itself is never touched.
	RunOptions o;
	o.log = stage.path() / "copy.log";
	if (run_command({"cp", "-al", src.tree.string(), copy.string()}, o) != 0) {
		fs::remove_all(copy);
		if (run_command({"cp", "-a", src.tree.string(), copy.string()}, o) != 0)
			throw SetupError("cannot copy " + src.tree.string() + " to " + copy.string() +
					 "; see " + o.log.string());
	}
	apply_patches(copy, patches, stage.path() / "patch.log");
	stage.publish();
	return patched;
}

} // namespace luo::host
