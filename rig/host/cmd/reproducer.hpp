// SPDX-License-Identifier: GPL-2.0-only
//
// `luo-rig reproducer ID --out DIR`: the case as one C file that runs without
// the rig (libc and the kernel's uapi headers only), in stages across kexec,
// printing each step's expected and observed result.  `luo-rig shell
// --reproducer DIR` builds it and boots it as /init of the rig's VM.
#pragma once

#include <filesystem>
#include <string>

#include "core/case.hpp"
#include "host/cmd/repro.hpp"
#include "host/vm/vm.hpp"

namespace luo::host {

// `--fail-nth STEP:N`: one error path a fail-nth run found, STEP numbered
// as the rig's message numbers it ("step 4 preserve ...: observed fail-nth
// 3: ...").  step 0: none.
struct FailNthAt {
	int step = 0;
	unsigned n = 0;
};
// Throws SetupError naming what to give instead: a step out of the case, an
// op fail-nth does not arm, an N that is not 1 or more.
FailNthAt parse_fail_nth_at(const std::string &spec, const core::Case &c);

// The C source: the case's tables, then rig/reproducer/runtime.c.  Throws
// SetupError for objects the reproducer cannot make (VFIO devices).
// `race`: helper threads change the case's guest_memfd and iommufd objects
// during each Live Update call, as --inject race does.
std::string reproducer_source(const core::Case &c, const std::string &contract,
			      const std::string &fault, const std::string &runtime,
			      FailNthAt fail_nth = {}, bool race = false);

// Writes DIR/repro.c and DIR/README for the case `cfg.id`; `fail_nth`
// as for --fail-nth, empty for none; `race` as for --race.  Throws
// SetupError for a race with nothing to race, or beside --fail-nth.
std::filesystem::path write_reproducer(const ReproConfig &cfg, const std::filesystem::path &dir,
				       const std::string &fail_nth = "", bool race = false);

struct ReproducerRun {
	std::string console;    // everything the VM printed
	bool passed = false;    // "RESULT: PASS"
	bool failed = false;    // "RESULT: FAIL ..."
	std::string result;     // the RESULT line
	std::string crash;      // a kernel splat on the console, if any
	std::filesystem::path workdir;
	// How the last VM ended ("exited", "hang", "infra") and, unless it
	// exited, why; a hang after the reproducer started is the kernel's.
	std::string vm_status;
	std::string why;
	// Boots lost before the reproducer printed a line (QEMU failed, or the
	// kernel stalled in its own boot), each run again once.
	int infra_retried = 0;
};

// Whether a VM that ended `status` lost the reproducer before it started:
// no "repro: " line on the console and the VM did not exit by itself.
// Such a boot says nothing of the case, so it is run again once.
bool reproducer_never_started(VmResult::Status status, const std::string &console);

// Builds DIR/repro.c statically against the uapi headers of the kernel's
// source and boots it as /init; `interactive`: console on the terminal.
// `cpus`: the VM's vCPUs, 0 for the rig's default (a racing reproducer
// races inside a call only with two).
ReproducerRun boot_reproducer(const std::filesystem::path &dir, const KernelOptions &kernel,
			      const std::string &accel, const std::string &fault, bool interactive,
			      int cpus = 0);

} // namespace luo::host
