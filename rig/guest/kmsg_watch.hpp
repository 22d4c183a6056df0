// SPDX-License-Identifier: GPL-2.0-only
//
// The kernel log as it grows while one step runs.  The host classifies the
// console, where a report of the kernel's own (a WARNING, a BUG, a UBSAN or
// KASAN report) shows after the fact and unrelated to the steps; the guest
// reads the same log through /dev/kmsg right after each step, so the step
// whose calls made the kernel report can be named (Event::kernel_report).
#pragma once

#include <string>

namespace luo::guest {

class KmsgWatch {
public:
	// From the end of the log as it is now.  Without /dev/kmsg the watch
	// sees nothing, and the host's own reading of the console stands.
	KmsgWatch();
	~KmsgWatch();
	KmsgWatch(const KmsgWatch &) = delete;
	KmsgWatch &operator=(const KmsgWatch &) = delete;

	// Everything logged since the last call is read; the first line of a
	// kernel report among it, or empty.
	std::string take();

private:
	int fd_ = -1;
};

} // namespace luo::guest
