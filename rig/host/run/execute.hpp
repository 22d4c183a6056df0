// SPDX-License-Identifier: GPL-2.0-only
//
// One batch in one VM: write its plan and image, boot, follow, judge.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "host/vm/accel.hpp"
#include "host/run/judge.hpp"
#include "host/run/planner.hpp"
#include "host/vm/backend.hpp"
#include "host/vm/qemu.hpp"

namespace luo::host {

struct VmContext {
	std::filesystem::path kernel;
	std::filesystem::path vmm;
	Accel accel = Accel::tcg;
	std::string qemu = "qemu-system-x86_64";  // --qemu
	std::string calibration;      // lpj= for TCG (see vm/calibration.hpp)
	std::string cmdline;          // extra kernel parameters (--append)
	std::vector<std::string> faults;  // luo_fault knobs: put on the command
					  // line, and each kernel must confirm them
	// The contract's kernel parameters, and the console lines each boot
	// prints when it takes them (scenarios/contracts/schema.json "kernel").
	std::string contract_cmdline;
	std::vector<std::string> contract_confirms;
	int memory_mb = 2048;
	int cpus = 0;                 // VmSpec::cpus
	int edu_devices = -1;         // >= 0: this many, whatever the plan uses
	Backend *backend = nullptr;   // nullptr: QEMU as a child of this process
	// What a step costs against the default kernel's, for the VM's overall
	// time limit: the debug flavour (KASAN, lockdep, kmemleak) ran the same
	// cases about 14x slower.
	int step_weight = 1;
	// The kernel has kmemleak (the debug flavour): every boot must scan,
	// and a scan that cannot run is a setup error.
	bool leak_scan = false;
	// The contract's errno for a change of a frozen guest_memfd, or empty:
	// Plan::gmem_frozen_err.
	std::string gmem_frozen_err;
	// Plan::iommufd_seal_err and iommufd_immutable_err.
	std::string iommufd_seal_err;
	std::string iommufd_immutable_err;
	// Plan::vfio_unmarked_err.
	std::string vfio_unmarked_err;
	// The kernel QEMU boots when it is not `kernel` (RunConfig::from_kernel);
	// `kernel` is still the one every kexec loads.
	std::filesystem::path first_kernel;
	bool fail_nth = false;  // protocol::Plan::fail_nth
	std::uint32_t retrieve_copies = 0;  // protocol::Plan::retrieve_copies
	bool race = false;      // protocol::Plan::race
};

struct Executed {
	VmResult vm;
	BatchOutcome outcome;
};

// The context every VM of one run shares; the host's clock is read once here.
VmContext make_vm_context(const std::filesystem::path &kernel, Accel accel,
			  const std::string &qemu = "qemu-system-x86_64");

// The kernel command line a VM of this context gets on top of the rig's own.
std::string context_cmdline(const VmContext &ctx);

// The VM of this context with dir/initrd.cpio as its image.
VmSpec vm_spec(const VmContext &ctx, const std::filesystem::path &dir, int edu_devices);

// Boots it on the context's backend (QEMU here when none is set).
VmResult boot_vm(const VmContext &ctx, const VmSpec &spec, const Timeouts &t, const EventFn &on_event);

Executed execute_batch(const Batch &batch, const VmContext &ctx, const std::filesystem::path &dir,
		       const std::function<void(const protocol::Event &)> &on_event = {});

} // namespace luo::host
