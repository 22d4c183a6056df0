// SPDX-License-Identifier: GPL-2.0-only
#include "host/util/paths.hpp"

#include <cstdlib>

#include "host/util/errors.hpp"

namespace luo::host {

fs::path cache_root()
{
	if (const char *c = std::getenv("LUO_RIG_CACHE"); c && *c)
		return c;
	if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x)
		return fs::path(x) / "luo-rig";
	if (const char *h = std::getenv("HOME"); h && *h)
		return fs::path(h) / ".cache" / "luo-rig";
	return "/var/cache/luo-rig";
}

fs::path source_root()
{
	if (const char *r = std::getenv("LUO_RIG_HOME"); r && *r)
		return r;
	return LUO_RIG_SOURCE_DIR;
}

namespace {

fs::path built_guest_binary(const char *name)
{
	std::error_code ec;
	fs::path self = fs::read_symlink("/proc/self/exe", ec);
	fs::path candidate = self.parent_path() / name;
	if (!ec && fs::exists(candidate))
		return candidate;
	// Test binaries live one directory down from the top of the build tree.
	candidate = self.parent_path().parent_path() / name;
	if (!ec && fs::exists(candidate))
		return candidate;
	throw SetupError(std::string("cannot find the guest binary ") + name + " next to " +
			 self.string() + ": build the whole project (cmake --build build)");
}

} // namespace

fs::path guest_binary()
{
	return built_guest_binary("luo-vmm");
}

fs::path selftest_runner_binary()
{
	return built_guest_binary("luo-selftests");
}

fs::path rig_binary()
{
	std::error_code ec;
	fs::path self = fs::read_symlink("/proc/self/exe", ec);
	if (!ec && self.filename() == "luo-rig")
		return self;
	// Test binaries live one directory down from the top of the build tree.
	fs::path candidate = self.parent_path().parent_path() / "luo-rig";
	if (!ec && fs::exists(candidate))
		return candidate;
	throw SetupError("cannot find luo-rig next to " + self.string() +
			 ": build the whole project (cmake --build build)");
}

} // namespace luo::host
