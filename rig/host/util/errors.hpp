// SPDX-License-Identifier: GPL-2.0-only
//
// Errors that stop a run before any verdict exists, and the exit codes the
// command line maps them to.  The codes follow kselftest where they overlap.
#pragma once

#include <stdexcept>
#include <string>

namespace luo::host {

enum ExitCode {
	kExitPass = 0,
	kExitFail = 1,     // a case failed: contract violation, crash or hang
	kExitSetup = 2,    // bad input, missing tool, kernel build failure
	kExitInfra = 3,    // QEMU or libvirt could not run the VM
	kExitSkip = 4,     // nothing to run
};

// Bad input or an environment the rig cannot work in: the message names the
// file, the place and the fix.
struct SetupError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

// The virtual machine itself failed (not the kernel under test).
struct InfraError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

} // namespace luo::host
