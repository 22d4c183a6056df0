// SPDX-License-Identifier: GPL-2.0-only
#include "host/vm/watch.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

namespace luo::host {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

VmResult watch_vm(const VmSpec &spec, const Timeouts &t, Machine &m, const EventFn &on_event)
{
	VmResult r;
	r.console_log = spec.workdir / "console.log";
	r.events_log = spec.workdir / "events.log";
	r.qemu_log = spec.workdir / "qemu.log";
	r.host = m.host();

	// From "done" to the VM's end: a power-off takes a second or two, but
	// a loaded TCG host stretches it.
	const double poweroff = std::min(t.stall, std::max(15.0, t.stall / 4));
	auto start = clock_type::now();
	auto last_progress = start;
	std::ifstream events;
	std::string partial;
	bool done = false, booted = false;
	auto seconds_since = [](clock_type::time_point p) {
		return std::chrono::duration<double>(clock_type::now() - p).count();
	};
	// Not one byte from the guest: the kernel never ran.
	auto printed_nothing = [&] {
		std::error_code ec;
		auto console_bytes = fs::file_size(r.console_log, ec);
		return r.events.empty() && (ec || console_bytes == 0);
	};
	auto drain_events = [&] {
		m.pump();
		if (!events.is_open()) {
			events.open(r.events_log, std::ios::binary);
			if (!events.is_open())
				return;
		}
		char buf[8192];
		for (;;) {
			events.read(buf, sizeof(buf));
			auto n = events.gcount();
			if (n <= 0)
				break;
			partial.append(buf, n);
		}
		events.clear();
		size_t nl;
		while ((nl = partial.find('\n')) != std::string::npos) {
			std::string line = partial.substr(0, nl);
			partial.erase(0, nl + 1);
			if (!line.empty() && line.back() == '\r')
				line.pop_back();
			if (line.empty())
				continue;
			protocol::Event ev;
			try {
				ev = protocol::event_from_json(line);
			} catch (const std::exception &) {
				// Line noise on the UART, or a type outside the closed
				// set: counted, and the judge sees a missing step.
				r.noise_lines++;
				continue;
			}
			last_progress = clock_type::now();
			booted |= ev.type == protocol::EventType::boot;
			// A fatal guest powers off right after saying so.
			done |= ev.type == protocol::EventType::done ||
				ev.type == protocol::EventType::fatal;
			r.events.push_back(ev);
			if (on_event)
				on_event(ev);
		}
	};

	while (m.running()) {
		drain_events();
		if (interrupted()) {
			m.stop();
			r.status = VmResult::Status::interrupted;
			r.why = "interrupted";
			break;
		}
		double quiet = seconds_since(last_progress);
		double limit = booted ? t.stall : t.boot;
		bool overran = seconds_since(start) > t.total;
		if (done && quiet > poweroff) {
			// The guest said it was done, then its kernel never got the
			// VM off: its shutdown path (device release included) is
			// stuck, and that is the kernel's, not a finished run.
			m.stop();
			r.status = VmResult::Status::hang;
			r.why = "the guest reported done, then the VM did not power off within " +
				std::to_string((int)poweroff) + " s";
			break;
		}
		if (!done && (quiet > limit || overran)) {
			m.stop();
			if (printed_nothing()) {
				// This says nothing about the kernel.
				r.status = VmResult::Status::infra;
				r.why = "the VM printed nothing on its console in " +
					std::to_string((int)quiet) +
					" s: the kernel never started. Check the acceleration "
					"(--accel " + std::string(spec.accel == Accel::kvm ? "kvm" : "tcg") +
					" was used; try --accel tcg), the firmware, and the QEMU "
					"command line in " + (spec.workdir / "qemu.cmd").string();
			} else {
				r.status = VmResult::Status::hang;
				r.why = (quiet > limit ? "no progress for " + std::to_string((int)quiet) +
								 " s (limit " + std::to_string((int)limit) + " s)"
						       : "still running after " +
								 std::to_string((int)seconds_since(start)) +
								 " s, its limit for the whole VM") +
					"; last event: " +
					(r.events.empty() ? std::string("none")
							  : protocol::event_to_json(r.events.back()));
			}
			break;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	}
	auto end = m.ended();
	drain_events();
	r.seconds = seconds_since(start);
	if (end.connection_lost && r.status != VmResult::Status::interrupted) {
		// The host went away, not the guest: nothing here is the kernel's.
		r.status = VmResult::Status::infra;
		r.connection_lost = true;
		r.why = end.why;
		return r;
	}
	if (r.status != VmResult::Status::exited)
		return r; // we stopped it: hang, silence or interrupt
	if (done) {
		r.status = VmResult::Status::done;
	} else if (!end.clean) {
		r.status = VmResult::Status::infra;
		r.why = end.why;
		if (spec.accel == Accel::kvm && printed_nothing())
			// Some hosts' KVM takes the VM and fails it at its first
			// instruction (an MSR it cannot set): the same advice as a
			// VM that stays silent.
			r.why += (r.why.empty() || r.why.back() == '\n' ? "" : "; ") +
				 std::string("it ended before the kernel printed a byte, under "
					     "--accel kvm: try --accel tcg");
	} else {
		r.status = VmResult::Status::exited;
		r.why = "the VM stopped before the plan was done";
	}
	return r;
}

} // namespace luo::host
