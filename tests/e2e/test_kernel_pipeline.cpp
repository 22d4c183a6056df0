// SPDX-License-Identifier: GPL-2.0-only
//
// The kernel pipeline on real trees: the cache is warm after the first build,
// and a tree without Live Update stops before compiling and leaves no entry.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>
#include <fstream>

#include "host/util/errors.hpp"
#include "host/kernel/kernel_build.hpp"
#include "host/kernel/kernel_source.hpp"
#include "host/util/paths.hpp"

using namespace luo;
namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("a second request for the default kernel compiles nothing", "[e2e][kernel]")
{
	host::KernelOptions opts;
	auto first = host::obtain_kernel(opts);
	auto second = host::obtain_kernel(opts);
	CHECK(second.from_cache);
	CHECK(second.key == first.key);
	CHECK(fs::exists(second.image));
	CHECK_THAT(second.release, ContainsSubstring("7.3"));
}

TEST_CASE("a tree without LIVEUPDATE is refused before the build", "[e2e][kernel]")
{
	// Debian's 7.3 tree with Live Update taken out of Kconfig stands for an
	// older or unconfigured tree.
	auto src = host::debian_source();
	fs::path dir = fs::temp_directory_path() / "luo-rig-e2e-no-luo";
	fs::remove_all(dir);
	fs::create_directories(dir);
	// The patch empties kernel/liveupdate/Kconfig; it is made from the real
	// file so that it applies whatever the exact 7.3.x.
	std::ifstream in(src.tree / "kernel/liveupdate/Kconfig");
	std::string line, body;
	int n = 0;
	while (std::getline(in, line)) {
		body += "-" + line + "\n";
		n++;
	}
	std::ofstream(dir / "0001-drop-liveupdate.patch")
		<< "--- a/kernel/liveupdate/Kconfig\n+++ b/kernel/liveupdate/Kconfig\n"
		<< "@@ -1," << n << " +0,0 @@\n"
		<< body;

	host::KernelOptions opts;
	opts.patch_dirs = {dir};
	opts.default_patches = false;
	auto count_entries = [] {
		int k = 0;
		fs::path kernels = host::cache_root() / "kernels";
		if (fs::exists(kernels))
			for ([[maybe_unused]] const auto &e : fs::directory_iterator(kernels))
				k++;
		return k;
	};
	int before = count_entries();
	try {
		host::obtain_kernel(opts);
		FAIL("the build went ahead");
	} catch (const host::SetupError &e) {
		std::string msg = e.what();
		CHECK_THAT(msg, ContainsSubstring("CONFIG_LIVEUPDATE=y"));
		CHECK_THAT(msg, ContainsSubstring("CONFIG_LIVEUPDATE_MEMFD=y"));
		CHECK_THAT(msg, ContainsSubstring("10-liveupdate.config"));
		CHECK_THAT(msg, !ContainsSubstring("CONFIG_KVM=y"));
	}
	// No entry, and nothing half-written under a temporary name.
	CHECK(count_entries() == before);
	fs::remove_all(dir);
}
