// SPDX-License-Identifier: GPL-2.0-only
//
// The event stream: one JSON line per event on the second serial port, kept
// apart from the kernel console so that a kernel splat can never corrupt it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "protocol/plan.hpp"

namespace luo::guest {

class EventChannel {
public:
	// Opens `path` (the second serial port); falls back to stdout so the
	// mock VMM still reports something when run by hand.
	explicit EventChannel(const char *path, std::uint32_t boot);
	~EventChannel();

	// Safe from several threads: each event is one whole line.
	void emit(protocol::Event ev);
	// Wait until everything written has left the UART: called before kexec
	// and power-off, which would otherwise drop the tail.
	void drain();

private:
	// Says on the console when the port stops sending (uart_watch.hpp).
	void watch_output();

	int fd_ = -1;
	std::uint32_t boot_;
	std::uint64_t seq_ = 0;
	std::mutex mu_;
	std::mutex watch_mu_;
	std::condition_variable watch_cv_;
	bool stopping_ = false;
	std::thread watch_;
};

} // namespace luo::guest
