// SPDX-License-Identifier: GPL-2.0-only
//
// The first line of a kernel report, as the kernel logs it: shared by the
// guest, which names the step during which one appeared in /dev/kmsg, and
// the host's tests, which hold it to the console classifier's corpus.
#pragma once

#include <string_view>

namespace luo::protocol {

// Whether a log line (its text, without printk's time stamp) opens a
// report of the kernel's own: WARNING (lockdep's too), BUG (KASAN's, a
// soft lockup's), UBSAN, an oops, a hung task, a panic.
bool starts_kernel_report(std::string_view text);

} // namespace luo::protocol
