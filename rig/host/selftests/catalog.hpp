// SPDX-License-Identifier: GPL-2.0-only
//
// Which LUO selftests a kernel tree carries, and how each is staged.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace luo::host {

// tools/testing/selftests/liveupdate, relative to a source tree.
inline constexpr const char *kSelftestSubdir = "tools/testing/selftests/liveupdate";
// The VFIO selftests: the Live Update series for VFIO adds its programs
// here ("vfio_pci_liveupdate_*"), built with the directory's own Makefile
// (libvfio, its device drivers) and run against an assigned PCI device.
inline constexpr const char *kVfioSelftestSubdir = "tools/testing/selftests/vfio";

struct SelftestInfo {
	std::string name;
	bool two_stage = false;   // drives itself through luo_test(): -s 1, kexec, -s 2
	bool present = false;     // NAME.c exists in the tree
	std::string subdir = kSelftestSubdir;   // where NAME.c lives, relative to the tree
	// Takes a PCI device bound to vfio-pci (VFIO_SELFTESTS_BDF): the guest
	// gets an edu device for it.
	bool device = false;
};

// The programs of the tree's Makefile (TEST_GEN_PROGS and
// TEST_GEN_PROGS_EXTENDED), then any of the programs upstream has carried
// since 7.3 that the tree lacks (present = false), so that a missing one is
// reported as a skip rather than silently not run; then the Live Update
// programs of the VFIO selftests ("liveupdate" in the name), when the tree
// has any.  Single-stage programs first: they need nothing preserved and
// must not see anyone else's sessions.
std::vector<SelftestInfo> selftest_catalog(const std::filesystem::path &tree);

// Groups that can share one VM and one kexec: two-stage programs whose
// fixed session names collide go to different VMs.
std::vector<std::vector<SelftestInfo>> selftest_groups(const std::vector<SelftestInfo> &tests,
							const std::filesystem::path &tree);

} // namespace luo::host
