// SPDX-License-Identifier: GPL-2.0-only
//
// The QEMU backend: the command line (pure, unit-tested) and running one VM
// while following its event stream.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "host/vm/accel.hpp"
#include "protocol/plan.hpp"

namespace luo::host {

struct VmSpec {
	Accel accel = Accel::tcg;
	std::string qemu = "qemu-system-x86_64";
	int memory_mb = 2048;
	int cpus = 0;                  // 0: cpus_for(accel)
	std::filesystem::path kernel;
	std::filesystem::path initrd;
	std::string extra_cmdline;     // e.g. "luo_fault=preserve-lookup"
	int edu_devices = 0;
	std::filesystem::path workdir; // console.log, events.log, qemu.log
	bool interactive = false;      // console on stdio (luo-rig shell)
};

// Guest PCI addresses of the edu devices, in the order the plan indexes them.
std::vector<std::string> edu_addresses(int count);
int max_edu_devices();

// One vCPU under TCG: each vCPU is a host thread, and on a loaded host a
// second one starves the guest's timers (RCU stalls on the idle CPU, failed
// PIT calibration).  Nothing the mock VMM does needs two CPUs.
int cpus_for(Accel accel);

std::string kernel_cmdline(const VmSpec &spec);
std::vector<std::string> qemu_args(const VmSpec &spec);

struct Timeouts {
	double boot = 0;    // from start (or a kexec) to the next "boot" event
	double stall = 0;   // longest silence between two events
	double total = 0;   // hard limit for the whole VM
};
Timeouts timeouts_for(Accel accel, int kexecs, int steps);

struct VmResult {
	enum class Status {
		done,        // the guest reported "done" and powered off
		exited,      // the guest stopped without "done" (panic=-1 reboot,
			     // power-off, a guest "fatal"): QEMU itself exited cleanly
		hang,        // the kernel booted, then made no progress in time
		infra,       // QEMU failed to start, died (signal, error status),
			     // or the VM never printed a byte: not the kernel's doing
		interrupted, // Ctrl-C / SIGTERM
	} status = Status::exited;
	std::string why;                       // for hang/infra: what happened
	std::vector<protocol::Event> events;
	int noise_lines = 0;                   // event-port lines that were not events
	double seconds = 0;
	std::filesystem::path console_log, events_log, qemu_log;
};

const char *to_string(VmResult::Status s);

// Boots the VM and waits for it to end; `on_event` sees events as they come.
VmResult run_vm(const VmSpec &spec, const Timeouts &t,
		const std::function<void(const protocol::Event &)> &on_event = {});

// "QEMU 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)": the first line of
// `qemu --version`, asked once per binary.
std::string qemu_version(const std::string &qemu = "qemu-system-x86_64");

// How a QEMU process ended, from its raw wait status: "exited with status 1",
// "killed by SIGSEGV".  `clean` is set for exit status 0.
std::string describe_wait_status(int raw_status, bool *clean = nullptr);

// Runs QEMU with the console on this terminal (for `luo-rig shell`).
int run_interactive(const VmSpec &spec);

// Set by SIGINT/SIGTERM: every running VM is killed and the run stops.
void install_interrupt_handler();
bool interrupted();

} // namespace luo::host
