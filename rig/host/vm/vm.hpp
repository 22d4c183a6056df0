// SPDX-License-Identifier: GPL-2.0-only
//
// What every backend shares: the VM asked for, its time limits, how it ended,
// and the machine layout (kernel command line, edu device placement) that
// makes a VM of one backend the same machine as a VM of another.
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

// Where each edu device sits: on the root bus at `slot`, or behind a PCIe
// root port of its own (port index `port`, in root-bus slot `slot`,
// function `function`).  Both backends place devices from this one list.
struct EduPlacement {
	bool behind_port = false;
	int slot = 0;
	int function = 0;
	int port = 0;
};
// Throws SetupError for more devices than a VM takes.
std::vector<EduPlacement> edu_layout(int count);
std::string hex2(int v);

// QEMU's -device values for `count` edu devices (and the root ports they
// sit behind), in order: the QEMU command line and the libvirt domain's
// <qemu:commandline> both pass exactly these.
std::vector<std::string> edu_device_args(int count);

// One vCPU under TCG: each vCPU is a host thread, and on a loaded host a
// second one starves the guest's timers (RCU stalls on the idle CPU, failed
// PIT calibration).  Nothing the mock VMM does needs two CPUs.
int cpus_for(Accel accel);

// Under TCG the guest gets QEMU's "max" CPU model (it emulates SVM, so the
// guest has a working /dev/kvm) without this feature: LA57.  7.3's
// identify_cpu() zeroes the boot CPU's feature words with interrupts on,
// before the alternatives are patched; an interrupt taken there sees
// pgtable_l5_enabled() false while the direct map is five-level, and KASAN
// calls a good lock "wild-memory-access ... in handle_edge_irq" (once in 81
// boots of the debug dependency scenarios, 435 cases red).  An x86 boot race,
// not Live Update: four-level paging keeps it out.  A CPU feature rather than
// no5lvl on the command line, which the kernel would hand to init as an
// argument.  The QEMU and libvirt backends both build their CPU from it.
inline constexpr const char *kTcgCpuWithout = "la57";

std::string kernel_cmdline(const VmSpec &spec);

struct Timeouts {
	double boot = 0;    // from start (or a kexec) to the next "boot" event
	double stall = 0;   // longest silence between two events
	double total = 0;   // hard limit for the whole VM
};
// `step_weight`: what a step of this kernel costs against the default
// kernel's (the debug flavour's is 15); it stretches the total, and a
// slower kernel's longest silence too.
Timeouts timeouts_for(Accel accel, int kexecs, int steps, int step_weight = 1);

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
	std::string host;                      // where the VM ran
	// The backend lost its host (a libvirt connection died): the VM's cases
	// go to another host, and this one takes no more.
	bool connection_lost = false;
	// The backend lost part of the guest's output (a libvirt console
	// stream failed mid-run): no case of the VM can pass on it.
	std::string output_lost;
};

const char *to_string(VmResult::Status s);

using EventFn = std::function<void(const protocol::Event &)>;

// Set by SIGINT/SIGTERM: every running VM is killed and the run stops.
void install_interrupt_handler();
bool interrupted();

} // namespace luo::host
