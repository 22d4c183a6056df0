// SPDX-License-Identifier: GPL-2.0-only
//
// luo-selftests: PID 1 of the selftest image.  It runs a kernel tree's own
// LUO selftests following their staging: in the first kernel every
// single-stage program and stage 1 of every two-stage one (whose daemons keep
// their sessions open), then one kexec into the same kernel, then stage 2 of
// every two-stage program.  Each stage's output and exit status go to the
// host as a "selftest" event; the host alone decides what they mean.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/reboot.h>
#include <unistd.h>

#include "guest/boot.hpp"
#include "guest/events.hpp"
#include "guest/pci_bind.hpp"
#include "program.hpp"
#include "protocol/selftests.hpp"

using luo::guest::power_off;
using luo::guest::slurp;

namespace {

using luo::protocol::Event;
using luo::protocol::EventType;

constexpr const char *kEventPort = "/dev/ttyS1";

void run_stage(luo::guest::EventChannel &events, const luo::protocol::SelftestPlan &plan,
	       const luo::protocol::SelftestSpec &t, std::uint32_t stage)
{
	std::vector<std::string> argv{std::string(luo::protocol::kSelftestDir) + "/" + t.name};
	if (stage) {
		argv.push_back("-s");
		argv.push_back(std::to_string(stage));
	}
	std::vector<std::string> env;
	std::string tag = t.name + " stage " + std::to_string(stage);
	luo::guest::console_mark("luo-selftests: begin " + tag);
	luo::guest::ProgramRun r;
	// The VFIO selftests take a device already bound to vfio-pci, in
	// each kernel (their own setup script does it by hand); a kernel
	// that refuses the bind fails the stage with its reason.
	if (t.device) {
		if (auto b = luo::guest::bind_vfio_pci(plan.device); !b)
			r.error = "binding " + plan.device + " to vfio-pci before " + tag + ": " +
				  b.detail;
		env.push_back("VFIO_SELFTESTS_BDF=" + plan.device);
	}
	if (r.error.empty())
		r = luo::guest::run_program(argv, env);
	luo::guest::console_mark("luo-selftests: end " + tag);

	Event ev;
	ev.type = EventType::selftest;
	ev.selftest = t.name;
	ev.stage = stage;
	ev.exit_code = r.exit_code;
	ev.signal = r.signal;
	ev.usec = r.usec;
	ev.detail = r.error.empty() ? r.output : r.error;
	if (!r.error.empty())
		ev.exit_code = 127;
	events.emit(ev);
}

} // namespace

int main()
{
	if (getpid() == 1)
		luo::guest::mount_basics();
	auto boot = luo::guest::parse_cmdline(slurp("/proc/cmdline"));
	luo::guest::EventChannel events(kEventPort, boot.boot);
	Event marker;
	marker.type = EventType::boot;
	marker.detail = boot.cmdline;
	events.emit(marker);

	luo::protocol::SelftestPlan plan;
	try {
		plan = luo::protocol::selftest_plan_from_json(slurp(luo::protocol::kSelftestPlan));
	} catch (const std::exception &e) {
		Event fatal;
		fatal.type = EventType::fatal;
		fatal.detail = std::string(luo::protocol::kSelftestPlan) + ": " + e.what();
		events.emit(fatal);
		events.drain();
		power_off();
	}

	bool any_two_stage = false;
	for (const auto &t : plan.tests) {
		any_two_stage |= t.two_stage;
		if (boot.boot == 0)
			run_stage(events, plan, t, t.two_stage ? 1 : 0);
		else if (t.two_stage)
			run_stage(events, plan, t, 2);
	}

	// Every program's stage 2 runs even when its stage 1 failed: the
	// runner keeps no state across the kexec, and the host reads stage 1
	// first.
	if (boot.boot == 0 && any_two_stage) {
		events.drain();
		std::string detail;
		luo::guest::kexec_into_next(boot, 0, detail);
		Event w;
		w.type = EventType::warning;
		w.err = "kexec";
		w.detail = detail;
		events.emit(w);
	}
	Event done;
	done.type = EventType::done;
	events.emit(done);
	events.drain();
	power_off();
}
