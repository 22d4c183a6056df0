// SPDX-License-Identifier: GPL-2.0-only
#include "guest/kmemleak.hpp"

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/sys.hpp"

namespace luo::guest {

namespace {

constexpr const char *kControl = "/sys/kernel/debug/kmemleak";
// A report is ours when its allocation backtrace passes through Live Update
// or a handler under test; a tiny debug kernel has a few leaks of its own at
// boot that say nothing about the series.
constexpr const char *kOurFrames[] = {"luo_", "liveupdate", "kho_", "kvm_gmem", "kvm_luo",
				      "vfio", "iommufd", "memfd_luo"};
// mm/kmemleak.c: MSECS_MIN_AGE is 5000 ms; a little more for a slow TCG guest.
constexpr unsigned kMinAgeSeconds = 6;

bool available()
{
	mount_debugfs();
	struct stat st;
	return stat(kControl, &st) == 0;
}

} // namespace

Outcome kmemleak_check(bool wait_for_age)
{
	if (!available())
		return fail(ENOENT, std::string(kControl) + " is missing: the kernel has no "
			    "kmemleak (CONFIG_DEBUG_KMEMLEAK), or it turned itself off at boot");
	if (wait_for_age)
		sleep(kMinAgeSeconds);
	// Two scans: an object seen unreferenced once may be in flight between
	// two pointers; kmemleak itself only reports it after a scan confirms.
	for (int i = 0; i < 2; i++)
		if (auto o = write_text(kControl, "scan"); !o) {
			std::printf("luo-vmm: kmemleak scan failed: %s\n", o.detail.c_str());
			return Outcome::fail(o.result ? o.result : -EIO, "kmemleak scan: " + o.detail);
		}
	std::string report;
	if (auto o = read_text(kControl, report); !o)
		return Outcome::fail(o.result ? o.result : -EIO,
				     "reading kmemleak's report: " + o.detail);
	if (report.empty())
		return Outcome::ok();
	// Split into one block per object; each starts "unreferenced object".
	std::vector<std::string> blocks;
	size_t at = 0;
	while ((at = report.find("unreferenced object", at)) != std::string::npos) {
		size_t next = report.find("unreferenced object", at + 1);
		blocks.push_back(report.substr(at, next == std::string::npos ? std::string::npos
									: next - at));
		at = next;
	}
	int ignored = 0;
	for (const auto &b : blocks) {
		bool ours = false;
		for (const char *f : kOurFrames)
			ours |= b.find(f) != std::string::npos;
		if (!ours) {
			ignored++;
			continue;
		}
		// The host's console scan recognises "unreferenced object 0x...".
		std::printf("luo-vmm: kmemleak report:\n%s", b.c_str());
	}
	if (ignored)
		std::printf("luo-vmm: kmemleak: %d report(s) outside Live Update paths ignored\n",
			    ignored);
	std::fflush(stdout);
	return Outcome::ok();
}

} // namespace luo::guest
