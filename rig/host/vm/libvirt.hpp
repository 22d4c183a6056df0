// SPDX-License-Identifier: GPL-2.0-only
//
// The libvirt backend: transient domains through the libvirt C API, on the
// local daemon or on any host a URI reaches.  The kernel goes to the host
// once per run and each image once per VM, as storage volumes; console and
// events come back through console streams, so nothing assumes a shared
// filesystem.
#pragma once

#include <memory>
#include <string>

#include "host/vm/backend.hpp"

namespace luo::host {

struct ConnectSpec {
	std::string uri;
	int slots = 0;  // 0: from -j, else the host's CPU count
	int ordinal = 1;  // its place among the run's --connect options
};

// "qemu:///system", "qemu+ssh://h/system=4": a trailing "=N" is the slot
// count (a URI's own query keeps its '='s).  Throws SetupError.
ConnectSpec parse_connect(const std::string &arg);

std::unique_ptr<Backend> libvirt_backend(const ConnectSpec &c, const BackendOptions &o);

// A console stream that failed while its domain still ran lost the VM's
// output from then on: whatever the watch made of the VM (done, a hang,
// a silence) rests on output that is missing, so it is infra with the
// libvirt error, unless the host itself went away or the run was stopped.
void note_lost_output(VmResult &r, const std::string &why);

} // namespace luo::host
