// SPDX-License-Identifier: GPL-2.0-only
//
// The QEMU backend: the command line (pure, unit-tested) and running one VM
// as a child process that writes its serial ports to files.
#pragma once

#include <string>
#include <vector>

#include "host/vm/vm.hpp"

namespace luo::host {

std::vector<std::string> qemu_args(const VmSpec &spec);

// Boots the VM and waits for it to end; `on_event` sees events as they come.
VmResult run_vm(const VmSpec &spec, const Timeouts &t, const EventFn &on_event = {});

// "QEMU 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)": the first line of
// `qemu --version`, asked once per binary.
std::string qemu_version(const std::string &qemu = "qemu-system-x86_64");

// How a QEMU process ended, from its raw wait status: "exited with status 1",
// "killed by SIGSEGV".  `clean` is set for exit status 0.
std::string describe_wait_status(int raw_status, bool *clean = nullptr);

// Runs QEMU with the console on this terminal (for `luo-rig shell`).
int run_interactive(const VmSpec &spec);

} // namespace luo::host
