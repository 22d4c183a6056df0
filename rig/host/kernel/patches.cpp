// SPDX-License-Identifier: GPL-2.0-only
#include "host/kernel/patches.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "host/kernel/mbox.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"
#include "host/util/process.hpp"

namespace luo::host {

namespace fs = std::filesystem;

std::vector<std::string> parse_series(const fs::path &series_file, const std::string &text)
{
	std::vector<std::string> out;
	std::istringstream in(text);
	std::string line;
	int n = 0;
	while (std::getline(in, line)) {
		n++;
		auto hash = line.find('#');
		if (hash != std::string::npos)
			line.erase(hash);
		std::istringstream words(line);
		std::string name;
		if (!(words >> name))
			continue;
		std::string opt;
		while (words >> opt) {
			if (opt != "-p1")
				throw SetupError(series_file.string() + ":" + std::to_string(n) +
						 ": unsupported option '" + opt +
						 "'; patches are applied with -p1");
		}
		out.push_back(name);
	}
	return out;
}

std::vector<fs::path> read_series(const fs::path &dir)
{
	if (!fs::is_directory(dir))
		throw SetupError(dir.string() + ": not a directory of patches");
	fs::path series = dir / "series";
	std::vector<fs::path> out;
	if (fs::exists(series)) {
		for (const auto &name : parse_series(series, read_file(series))) {
			fs::path p = dir / name;
			if (!fs::exists(p))
				throw SetupError(series.string() + ": lists '" + name +
						 "', which does not exist in " + dir.string());
			out.push_back(p);
		}
		return out;
	}
	for (const auto &e : fs::directory_iterator(dir))
		if (e.path().extension() == ".patch" || e.path().extension() == ".diff")
			out.push_back(e.path());
	std::sort(out.begin(), out.end());
	return out;
}

void apply_patches(const fs::path &tree, const std::vector<fs::path> &patches,
		   const fs::path &log)
{
	// A posted series that fails on top of the rig's own handlers may be
	// meant to replace them; on the bare tree, it is based elsewhere.
	const fs::path own = source_root() / "kernel-config" / "patches";
	const bool own_first = std::any_of(patches.begin(), patches.end(), [&](const fs::path &p) {
		return p.parent_path() == own;
	});
	for (size_t i = 0; i < patches.size(); i++) {
		const auto &p = patches[i];
		std::string output;
		RunOptions o;
		o.cwd = tree;
		o.log = log;
		o.on_line = [&](const std::string &l) { output += l + "\n"; };
		// patch(1) for mailbox patches too: the workspace copy never has a
		// .git (it is copied and synced without one), so `git am` has no
		// repository to commit into, and patch reports the failing hunk.
		// No fuzz, as git am: a hunk whose context has moved may land at
		// another line, but one whose context differs is refused, never
		// placed by guesswork into code its author did not see.
		int rc = run_command({"patch", "-p1", "--forward", "--batch", "--fuzz=0", "-i",
				      fs::absolute(p).string()},
				     o);
		if (rc != 0) {
			auto origin = mail_patch_origin(p);
			std::string which = origin ? *origin + " (" + p.filename().string() + ")"
						   : "patch " + std::to_string(i + 1) + "/" +
						     std::to_string(patches.size()) + " " + p.string();
			throw PatchError(which + " does not apply to " + tree.string() + ":\n" +
					 output +
					 (!origin ? "Rebase it onto this tree, or drop it from the series."
					  : own_first
						  ? "Rebase the series onto this tree, or pass "
						    "--no-default-patches if it replaces the rig's own "
						    "kernel-config/patches."
						  : "Rebase the series onto this tree, or put what it "
						    "depends on (its cover letter names its base and "
						    "prerequisites) before it, each with --mbox or "
						    "--series in order."));
		}
	}
}

} // namespace luo::host
