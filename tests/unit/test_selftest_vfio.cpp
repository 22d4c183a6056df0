// SPDX-License-Identifier: GPL-2.0-only
//
// The Live Update programs of a tree's VFIO selftests: listed from the
// directory's Makefile, built with that Makefile, and planned with the
// device they take.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

#include "host/kernel/built_source.hpp"
#include "host/selftests/build.hpp"
#include "protocol/selftests.hpp"
#include "selftest_tree.hpp"

using namespace luo::host;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;
using luo::test::FakeTree;

namespace {

void write(const fs::path &p, const std::string &text)
{
	fs::create_directories(p.parent_path());
	std::ofstream(p) << text;
}

// Whether an ELF64 program asks for a dynamic loader (a PT_INTERP header).
bool has_interpreter(const fs::path &p)
{
	std::ifstream in(p, std::ios::binary);
	std::string b((std::istreambuf_iterator<char>(in)), {});
	REQUIRE(b.size() > 64);
	REQUIRE(b.compare(0, 4, "\x7f" "ELF") == 0);
	auto u64 = [&](size_t at) { std::uint64_t v; std::memcpy(&v, b.data() + at, 8); return v; };
	auto u16 = [&](size_t at) { std::uint16_t v; std::memcpy(&v, b.data() + at, 2); return v; };
	std::uint64_t phoff = u64(0x20);
	for (unsigned i = 0; i < u16(0x38); i++) {
		std::uint32_t type;
		std::memcpy(&type, b.data() + phoff + i * u16(0x36), 4);
		if (type == 3)
			return true;
	}
	return false;
}

const SelftestInfo *find(const std::vector<SelftestInfo> &all, const std::string &name)
{
	for (const auto &t : all)
		if (t.name == name)
			return &t;
	return nullptr;
}

} // namespace

TEST_CASE("the VFIO directory contributes its Live Update programs, each taking a device",
	  "[unit][selftests]")
{
	FakeTree f;
	f.add_vfio();
	auto all = selftest_catalog(f.tree());
	CHECK(find(all, "vfio_dma_mapping_test") == nullptr);   // not a Live Update test
	const auto *uapi = find(all, "vfio_pci_liveupdate_uapi_test");
	const auto *kexec = find(all, "vfio_pci_liveupdate_kexec_test");
	REQUIRE(uapi);
	REQUIRE(kexec);
	CHECK(uapi->device);
	CHECK(uapi->subdir == kVfioSelftestSubdir);
	CHECK_FALSE(uapi->two_stage);
	CHECK(kexec->two_stage);
	CHECK(kexec->device);
	// The liveupdate directory's programs stay listed (absent here) and
	// take no device.
	const auto *simple = find(all, "luo_kexec_simple");
	REQUIRE(simple);
	CHECK_FALSE(simple->present);
	CHECK_FALSE(simple->device);
}

TEST_CASE("a tree whose VFIO selftests have no Live Update program lists none as missing",
	  "[unit][selftests]")
{
	FakeTree f;
	f.add_vfio();
	write(f.vfio() / "Makefile", "TEST_GEN_PROGS += vfio_dma_mapping_test\n");
	for (const auto &t : selftest_catalog(f.tree()))
		CHECK_FALSE(t.device);
}

TEST_CASE("VFIO selftests are built with their directory's Makefile, static",
	  "[unit][selftests]")
{
	FakeTree f;
	f.add_vfio();
	auto b = build_selftests(f.tree(), f.headers, f.cache);
	auto built = [&](const std::string &name) -> const BuiltSelftest & {
		for (const auto &t : b.tests)
			if (t.info.name == name)
				return t;
		FAIL("no selftest " << name);
		throw 0;
	};
	const auto &uapi = built("vfio_pci_liveupdate_uapi_test");
	CHECK(uapi.built);
	REQUIRE(fs::exists(b.bin_dir / "vfio_pci_liveupdate_uapi_test"));
	// EXTRA_CFLAGS=-static reached the link: the guest has no libc.
	CHECK_FALSE(has_interpreter(b.bin_dir / "vfio_pci_liveupdate_uapi_test"));
	CHECK(built("vfio_pci_liveupdate_kexec_test").built);

	const auto &broken = built("vfio_pci_liveupdate_broken_test");
	CHECK_FALSE(broken.built);
	CHECK_THAT(broken.skip_reason, ContainsSubstring("make -C " + std::string(kVfioSelftestSubdir)));
	CHECK_THAT(broken.skip_reason, ContainsSubstring("nope"));
	// Only the programs are kept, not make's objects.
	CHECK_FALSE(fs::exists(f.cache / b.key / "obj"));

	// The device flag and the directory survive the cache.
	auto again = build_selftests(f.tree(), f.headers, f.cache);
	CHECK(again.from_cache);
	for (const auto &t : again.tests)
		if (t.info.name == "vfio_pci_liveupdate_uapi_test") {
			CHECK(t.info.device);
			CHECK(t.info.subdir == kVfioSelftestSubdir);
		}

	// A change to the VFIO library is a new build.
	write(f.vfio() / "lib" / "libvfio.c", "/* changed */\n");
	CHECK(build_selftests(f.tree(), f.headers, f.cache).key != b.key);
}

TEST_CASE("a series that changes tools/ or a uapi header gets a patched source for userspace",
	  "[unit][selftests]")
{
	CHECK(touches_userspace({"drivers/vfio/pci/vfio_pci_liveupdate.c",
				 "tools/testing/selftests/vfio/vfio_pci_liveupdate_kexec_test.c"}));
	CHECK(touches_userspace({"include/uapi/linux/iommufd.h"}));
	CHECK(touches_userspace({"arch/x86/include/uapi/asm/kvm.h"}));
	CHECK_FALSE(touches_userspace({"drivers/iommu/iommufd/main.c", "include/linux/liveupdate.h",
				       "Documentation/userspace-api/liveupdate.rst"}));
	CHECK_FALSE(touches_userspace({}));
}

TEST_CASE("the selftest plan carries the device the VFIO programs take", "[unit][selftests]")
{
	luo::protocol::SelftestPlan plan;
	plan.device = "0000:00:02.0";
	plan.tests.push_back({"luo_kexec_simple", true, false});
	plan.tests.push_back({"vfio_pci_liveupdate_kexec_test", true, true});
	auto back = luo::protocol::selftest_plan_from_json(luo::protocol::selftest_plan_to_json(plan));
	CHECK(back.device == "0000:00:02.0");
	REQUIRE(back.tests.size() == 2);
	CHECK_FALSE(back.tests[0].device);
	CHECK(back.tests[1].device);

	plan.device.clear();
	CHECK_THROWS_WITH(luo::protocol::selftest_plan_from_json(
				  luo::protocol::selftest_plan_to_json(plan)),
			  ContainsSubstring("takes a device and the plan names none"));
}
