// SPDX-License-Identifier: GPL-2.0-only
#include "guest/kmemleak.hpp"

#include <cstdio>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/sys.hpp"

namespace luo::guest {

namespace {

constexpr const char *kControl = "/sys/kernel/debug/kmemleak";
// mm/kmemleak.c: MSECS_MIN_AGE is 5000 ms; a little more for a slow TCG guest.
constexpr unsigned kMinAgeSeconds = 6;

bool available()
{
	struct stat st;
	if (stat("/sys/kernel/debug", &st) == 0 && stat(kControl, &st) != 0)
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr);
	return stat(kControl, &st) == 0;
}

} // namespace

void kmemleak_check(bool wait_for_age)
{
	if (!available())
		return;
	if (wait_for_age)
		sleep(kMinAgeSeconds);
	// Two scans: an object seen unreferenced once may be in flight between
	// two pointers; kmemleak itself only reports it after a scan confirms.
	for (int i = 0; i < 2; i++)
		if (auto o = write_text(kControl, "scan"); !o) {
			std::printf("luo-vmm: kmemleak scan failed: %s\n", o.detail.c_str());
			return;
		}
	std::string report;
	if (!read_text(kControl, report) || report.empty())
		return;
	// The host's console scan recognises "unreferenced object 0x...".
	std::printf("luo-vmm: kmemleak report:\n%s", report.c_str());
	std::fflush(stdout);
}

} // namespace luo::guest
