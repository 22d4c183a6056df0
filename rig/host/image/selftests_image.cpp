// SPDX-License-Identifier: GPL-2.0-only
#include "host/image/selftests_image.hpp"

#include <algorithm>
#include <sys/stat.h>

namespace luo::host {

namespace fs = std::filesystem;

namespace {

// {"tree": at, "from": dir}: the directory and everything under it, modes
// kept (the programs must stay executable), in a stable order.
void add_tree(std::vector<ImageEntry> &e, const std::string &at, const fs::path &dir)
{
	using T = ImageEntry::Type;
	e.push_back({T::dir, at});
	std::vector<fs::path> paths;
	for (const auto &p : fs::recursive_directory_iterator(dir))
		paths.push_back(p.path());
	std::sort(paths.begin(), paths.end());
	for (const auto &p : paths) {
		std::string in = at + "/" + fs::relative(p, dir).string();
		if (fs::is_directory(p)) {
			e.push_back({T::dir, in});
			continue;
		}
		struct stat st {};
		stat(p.c_str(), &st);
		e.push_back({T::file, in, p, {}, {}, (unsigned)(st.st_mode & 07777)});
	}
}

} // namespace

std::vector<ImageEntry> selftests_image(const fs::path &kernel, const fs::path &runner,
					const fs::path &selftests, const std::string &plan_json)
{
	using T = ImageEntry::Type;
	std::vector<ImageEntry> e{
		{T::dir, "dev"},
		{T::chardev, "dev/console", {}, {}, {}, 0600, 5, 1},
		{T::dir, "proc"},
		{T::dir, "sys"},
		{T::dir, "tmp"},
		{T::dir, "boot"},
		{T::file, "boot/bzImage", kernel, {}, {}, 0644},
		{T::file, "init", runner, {}, {}, 0755},
	};
	add_tree(e, "selftests", selftests);
	e.push_back({T::file, "selftests/plan.json", {}, plan_json, {}, 0644});
	return e;
}

} // namespace luo::host
