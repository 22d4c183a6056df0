// SPDX-License-Identifier: GPL-2.0-only
//
// --from-kernel: each VM boots another kernel first and the kexecs go into
// the kernel under test, which is what a live update to a new kernel is.
// The console says which kernel each boot ran.  An update from the
// handlers as first posted (patches 0001-0005) into a kernel whose
// guest_memfd record gained a field under the same compatible string (0006)
// is the bug the first case found; the second kernel of patch 0033 refuses
// the old record instead.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cctype>
#include <fstream>
#include <set>

#include "e2e_support.hpp"
#include "host/kernel/kernel_build.hpp"
#include "host/util/paths.hpp"

using namespace luo;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

// The version line of each boot on a VM's console, in boot order.
std::vector<std::string> booted_versions(const fs::path &vm_dir)
{
	std::ifstream in(vm_dir / "console.log");
	std::vector<std::string> out;
	std::string line;
	const std::string key = "Linux version ";
	while (std::getline(in, line)) {
		// The serial console ends its lines with CR LF.
		while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
			line.pop_back();
		if (auto at = line.find(key); at != std::string::npos)
			out.push_back(line.substr(at + key.size()));
	}
	return out;
}

// A kernel of the first `n` patches of kernel-config/patches, and then
// those named in `more`.
fs::path series_kernel(int n, const std::vector<std::string> &more, const std::string &tag)
{
	const fs::path src = host::source_root() / "kernel-config" / "patches";
	const fs::path dir = fs::path(LUO_RIG_BINARY_DIR) / "e2e-runs" / ("series-" + tag);
	fs::remove_all(dir);
	fs::create_directories(dir);
	std::ofstream series(dir / "series");
	std::vector<std::string> names;
	{
		std::ifstream in(src / "series");
		std::string l;
		while (std::getline(in, l) && static_cast<int>(names.size()) < n)
			names.push_back(l);
	}
	names.insert(names.end(), more.begin(), more.end());
	for (const auto &name : names) {
		fs::copy_file(src / name, dir / name);
		series << name << "\n";
	}
	series.close();
	host::KernelOptions k;
	k.default_patches = false;
	k.patch_dirs = {dir};
	return host::obtain_kernel(k).image;
}

} // namespace

TEST_CASE("a VM under --from-kernel boots the first kernel and kexecs into the one under test",
	  "[e2e][from-kernel][debug]")
{
	// The debug flavour of the same series is another kernel, and one a
	// test run builds anyway.
	host::KernelOptions debug;
	debug.flavour = "debug";
	const fs::path first = host::obtain_kernel(debug).image;
	const fs::path under_test = host::obtain_kernel({}).image;
	// The boot protocol header has "7.3.4 (user@host) #N SMP ... date";
	// the console line adds the compiler in between: the build number and
	// date from " #" on tell two builds apart.
	auto build_of = [](const std::string &version) {
		auto at = version.find(" #");
		return at == std::string::npos ? std::string() : version.substr(at);
	};
	const std::string first_version = build_of(host::image_version(first));
	const std::string test_version = build_of(host::image_version(under_test));
	REQUIRE_FALSE(first_version.empty());
	REQUIRE_FALSE(test_version.empty());
	REQUIRE(first_version != test_version);

	auto cfg = e2e::config_for({"scenarios/deps/kvm-gmem.json"}, "from-kernel");
	cfg.from_kernel = first;
	auto rep = host::run_suite(cfg);
	e2e::check_all_pass(rep, 10);
	CHECK(rep.summary.from_kernel == fs::absolute(first).string());

	// Each VM ran the first kernel once, then only the one under test.
	std::set<std::string> vms;
	for (const auto &c : rep.cases)
		vms.insert(c.vm_dir);
	for (const auto &vm : vms) {
		auto boots = booted_versions(vm);
		INFO(vm);
		REQUIRE(boots.size() >= 2);
		CHECK(build_of(boots[0]) == first_version);
		for (size_t i = 1; i < boots.size(); i++)
			CHECK(build_of(boots[i]) == test_version);
	}
}

TEST_CASE("an update from the handlers as first posted: a misread record, then a refused one",
	  "[e2e][from-kernel][sized]")
{
	if (!e2e::full_size())
		SKIP("three kernels of their own: ci/full runs it");
	const fs::path first = series_kernel(5, {}, "0005");
	const fs::path layout_changed = series_kernel(10, {}, "0010");
	const fs::path versioned =
		series_kernel(10, {"0033-KVM-guest_memfd-version-the-handover-record.patch"}, "0010-0033");

	// 0006 put vm_type into the record under the same compatible string:
	// the new kernel reads a v1 record with the new layout.
	auto cfg = e2e::config_for({"scenarios/deps/kvm-gmem.json"}, "from-0005-to-0010");
	cfg.from_kernel = first;
	cfg.kernel.kernel = layout_changed;
	auto misread = host::run_suite(cfg);
	int crashed = 0;
	for (const auto &c : misread.cases)
		crashed += c.verdict == host::Verdict::crash &&
			   c.message.find("kvm_gmem_luo_finish") != std::string::npos;
	CHECK(crashed > 0);
	CHECK(misread.exit_code == 1);

	// With the compatible string versioned, the new kernel has no handler
	// for the old record, and LUO refuses the incoming state as a whole:
	// every session is lost, nothing is read wrong.
	cfg = e2e::config_for({"scenarios/deps/kvm-gmem.json"}, "from-0005-to-0010-0033");
	cfg.from_kernel = first;
	cfg.kernel.kernel = versioned;
	auto refused = host::run_suite(cfg);
	REQUIRE(refused.cases.size() == 10);
	for (const auto &c : refused.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::violation);
		CHECK_THAT(c.message, ContainsSubstring("session-retrieve") && ContainsSubstring("EIO"));
		std::ifstream in(fs::path(c.vm_dir) / "console.log");
		std::string console((std::istreambuf_iterator<char>(in)), {});
		CHECK_THAT(console, ContainsSubstring("No registered handler for compatible 'kvm-gmem-ref-v1'"));
	}
}
