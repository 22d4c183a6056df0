// SPDX-License-Identifier: GPL-2.0-only
//
// Error-path injection through /proc/thread-self/fail-nth, as syzkaller
// does it: armed with N, the Nth fault-injection point (a slab or page
// allocation) the thread reaches fails.  Only the Live Update call itself is
// armed (a Window around its syscall), so the failure lands in the code
// under test and not in the VMM's own bookkeeping.
#pragma once

#include <string>

#include "guest/objects.hpp"

namespace luo::guest::fail_nth {

// Lets fail-nth reach the allocations handlers make: failslab and
// fail_page_alloc skip sleeping and order-0 allocations unless told
// otherwise (debugfs), and their reports are cut to one line so that the
// serial console keeps up.  The debug machinery's own slab caches are kept
// out.  Fails with what the kernel lacks.
Outcome setup();

// The calling thread's next Window runs with fail-nth = n.
void arm(unsigned n);

// Whether the failure armed for the last Window was injected.  Clears the
// arming; an error reading fail-nth back is reported as hit = false with
// `error` set.
struct Result {
	bool hit = false;
	std::string error;
	// What the count was when read back: a call that was not hit passed
	// (armed n - left) injection points.
	unsigned left = 0;
};

// An N no call reaches: armed with it, a call counts the injection points
// it passes (Result::left) and fails at none.
inline constexpr unsigned kCountOnly = 1000000;
Result take();

// Around one syscall under test: writes the armed N to fail-nth before it,
// reads what is left after it and sets the count back to 0, so that no
// other call of the thread can be hit.  Does nothing when nothing is armed.
class Window {
public:
	Window();
	~Window();
	Window(const Window &) = delete;
	Window &operator=(const Window &) = delete;

private:
	int fd_ = -1;
};

// Open files of this process: an injected failure must leave none behind.
int open_fds();

} // namespace luo::guest::fail_nth
