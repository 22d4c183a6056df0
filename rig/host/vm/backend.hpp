// SPDX-License-Identifier: GPL-2.0-only
//
// The seam between a run and the machines it boots: "a VM that boots this
// kernel and image with these devices, shows me its console and events, and
// tells me how it ended".  The planner, judge and reports never learn which
// backend ran a VM, only the host it ran on.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "host/vm/vm.hpp"

namespace luo::host {

class Backend {
public:
	virtual ~Backend() = default;
	// "qemu" or "libvirt qemu+ssh://host/system": for messages.
	virtual std::string name() const = 0;
	// Where its VMs run, as the report names it.
	virtual std::string host() const = 0;
	// VMs it runs at once.
	virtual int slots() const = 0;
	// False once its host is gone (a dead libvirt connection): it takes no
	// more VMs, and the run sends its work elsewhere.
	virtual bool alive() const { return true; }
	// "QEMU 10.0.2 (...)" as the report shows it.
	virtual std::string qemu_version() const = 0;
	virtual VmResult run(const VmSpec &spec, const Timeouts &t, const EventFn &on_event) = 0;
};

// QEMU as a child process of this one.
std::unique_ptr<Backend> qemu_backend(int slots, const std::string &qemu = "qemu-system-x86_64");

// Generous: a first connection may wait while the daemon probes QEMU, and
// a slow link to a remote host is not a hung daemon.
constexpr int kDefaultAnswerSeconds = 120;

struct BackendOptions {
	std::string kind = "qemu";            // qemu | libvirt
	std::vector<std::string> connect;     // libvirt: URI[=SLOTS], repeatable
	int jobs = 0;                         // VMs at once where nothing else says
	Accel accel = Accel::tcg;
	std::string qemu = "qemu-system-x86_64";
	// libvirt: a call the daemon has not answered in this long means a
	// hung daemon (libvirt_watchdog.hpp); 0: kDefaultAnswerSeconds.
	int answer_seconds = 0;
};

// Opens every backend the options name; a daemon that is not there, a bad
// URI or a host that lacks what the rig's VMs need is a SetupError here,
// before the first boot.
std::vector<std::unique_ptr<Backend>> open_backends(const BackendOptions &o);

// Refuses an option combination that cannot be honoured (exit 2 material).
void check_backend_options(const BackendOptions &o);

} // namespace luo::host
