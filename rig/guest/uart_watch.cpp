// SPDX-License-Identifier: GPL-2.0-only
#include "guest/uart_watch.hpp"

namespace luo::guest {

bool UartWatch::observe(int queued, double now)
{
	// Progress: nothing waits, or fewer bytes than before (new writes
	// only ever add to the queue).
	if (queued <= 0 || queued < last_) {
		last_ = queued;
		since_ = now;
		said_ = false;
		return false;
	}
	if (last_ <= 0)
		since_ = now;
	last_ = queued;
	if (said_ || now - since_ < limit_)
		return false;
	said_ = true;
	return true;
}

} // namespace luo::guest
