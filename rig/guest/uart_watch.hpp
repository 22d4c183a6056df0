// SPDX-License-Identifier: GPL-2.0-only
//
// A UART whose transmit interrupts stop keeps what the mock VMM wrote in
// its buffer: the host sees no event from then on, and once the buffer is
// full the VMM sleeps in write() (interruptibly, so no hung-task report
// names it) until the host calls the VM a silent hang.  Watching how many
// bytes wait to be sent (TIOCOUTQ) tells that apart from a VMM that is
// busy or blocked in the kernel, and the console, another UART, can say so.
#pragma once

namespace luo::guest {

class UartWatch {
public:
	explicit UartWatch(double stall_seconds) : limit_(stall_seconds) {}

	// One look at the queue: `queued` bytes wait at time `now` (seconds).
	// True once, when bytes have waited `stall_seconds` without any of
	// them leaving; a queue that empties or shrinks is a UART at work.
	bool observe(int queued, double now);

private:
	double limit_;
	int last_ = 0;
	double since_ = 0;
	bool said_ = false;
};

} // namespace luo::guest
