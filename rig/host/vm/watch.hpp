// SPDX-License-Identifier: GPL-2.0-only
//
// Following a running VM to its end, whatever started it: events are read
// from events.log as they come, silence and overruns are timed, and how the
// machine ended becomes a VmResult.  Backends only say how to see the
// guest's output, whether the VM still runs, and how to stop it.
#pragma once

#include <string>

#include "host/vm/vm.hpp"

namespace luo::host {

class Machine {
public:
	virtual ~Machine() = default;

	// Brings what the guest printed since the last call into the
	// workdir's console.log and events.log (nothing to do for a backend
	// whose VM writes them itself).
	virtual void pump() {}
	virtual bool running() = 0;
	// Ends the VM now (timeout, Ctrl-C); ended() still answers.
	virtual void stop() = 0;

	struct End {
		bool clean = false;      // powered off or reset by the guest
		std::string why;         // when not clean: what happened to the VM
		bool connection_lost = false;
	};
	// After running() turned false or stop() returned; also drains the
	// output that was still on its way.
	virtual End ended() = 0;
	virtual std::string host() const = 0;
};

VmResult watch_vm(const VmSpec &spec, const Timeouts &t, Machine &m, const EventFn &on_event);

} // namespace luo::host
