// SPDX-License-Identifier: GPL-2.0-only
//
// luo-vmm: the mock VMM, PID 1 of every boot of the test VM.  It reads the
// plan from the initramfs, runs the steps of the boot it finds itself in, and
// powers the VM off when the story is over.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/reboot.h>
#include <unistd.h>

#include "boot.hpp"
#include "events.hpp"
#include "end_of_boot.hpp"
#include "runner.hpp"

using luo::guest::power_off;
using luo::guest::slurp;

namespace {

constexpr const char *kEventPort = "/dev/ttyS1";

// The soft-lockup detector reports a CPU stuck for twice this many seconds.
// The kernel's 10 would take a TCG guest whose host stalled it for 20 s for
// a lockup; 30 still reports within a minute, well inside the host's limit
// for a silent VM (120 s under TCG).
constexpr const char *kWatchdogThresh = "30";

void tune_lockup_detector()
{
	int fd = open("/proc/sys/kernel/watchdog_thresh", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return; // a kernel without it: nothing to tune
	if (write(fd, kWatchdogThresh, std::strlen(kWatchdogThresh)) < 0)
		std::printf("luo-vmm: watchdog_thresh: %s\n", std::strerror(errno));
	close(fd);
}

} // namespace

int main()
{
	if (getpid() == 1) {
		luo::guest::mount_basics();
		tune_lockup_detector();
	}
	auto boot = luo::guest::parse_cmdline(slurp("/proc/cmdline"));
	luo::guest::EventChannel events(kEventPort, boot.boot);

	luo::protocol::Event marker;
	marker.type = luo::protocol::EventType::boot;
	marker.detail = boot.cmdline;
	events.emit(marker);
	std::printf("luo-vmm: boot %u\n", boot.boot);

	luo::protocol::Plan plan;
	try {
		plan = luo::protocol::plan_from_boot_lines(slurp(luo::protocol::kGuestPlan), boot.boot);
	} catch (const std::exception &e) {
		luo::protocol::Event fatal;
		fatal.type = luo::protocol::EventType::fatal;
		fatal.detail = std::string(luo::protocol::kGuestPlan) + ": " + e.what();
		events.emit(fatal);
		luo::guest::drain_console();
		events.drain();
		if (getpid() != 1)
			return 1;
		power_off();
	}

	// The kexec that brought us here succeeded: report it from this side.
	if (boot.after) {
		luo::protocol::Event ev;
		ev.type = luo::protocol::EventType::step;
		ev.step = *boot.after;
		ev.op = luo::protocol::Op::kexec;
		events.emit(ev);
	}

	{
		// The plan's teardown steps closed what the cases held; what is
		// left to close here is /dev/liveupdate, the batch's.
		luo::guest::Runner runner(plan, boot, events);
		runner.run();
	}

	// The story is over in this kernel: whatever it leaked or tainted
	// itself with shows now.
	luo::guest::end_of_boot(plan, events, true);

	luo::protocol::Event done;
	done.type = luo::protocol::EventType::done;
	events.emit(done);
	std::printf("luo-vmm: boot %u done\n", boot.boot);
	luo::guest::drain_console();
	events.drain();
	// Run by hand from the shell image, hand the prompt back instead.
	if (getpid() != 1)
		return 0;
	power_off();
}
