// SPDX-License-Identifier: GPL-2.0-only
#include "guest/end_of_boot.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <termios.h>
#include <unistd.h>

#include "guest/kmemleak.hpp"
#include "guest/sys.hpp"

namespace luo::guest {

namespace {

constexpr const char *kTainted = "/proc/sys/kernel/tainted";

void report_taint(EventChannel &events)
{
	protocol::Event ev;
	std::string text;
	if (auto o = read_text(kTainted, text); !o) {
		// Without the mask the host cannot cross-check this kernel.
		ev.type = protocol::EventType::warning;
		ev.err = protocol::errno_name(o.result);
		ev.detail = "taint not reported: " + o.detail;
		events.emit(ev);
		return;
	}
	ev.type = protocol::EventType::taint;
	ev.taint = std::strtoull(text.c_str(), nullptr, 10);
	events.emit(ev);
}

} // namespace

void drain_console()
{
	std::fflush(stdout);
	std::fflush(stderr);
	tcdrain(STDOUT_FILENO);
}

void end_of_boot(const protocol::Plan &plan, EventChannel &events, bool last)
{
	Outcome leak = kmemleak_check(last);
	// Without kmemleak in a kernel whose plan does not ask for it, there
	// is nothing to scan; with the plan asking, that is the host's to
	// judge, never silence.
	if (!leak && plan.leak_scan) {
		protocol::Event ev;
		ev.type = protocol::EventType::kmemleak;
		ev.err = protocol::errno_name(leak.result);
		ev.detail = leak.detail;
		events.emit(ev);
	}
	report_taint(events);
	drain_console();
	events.drain();
}

} // namespace luo::guest
