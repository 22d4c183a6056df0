// SPDX-License-Identifier: GPL-2.0-only
//
// Leak checks for kernels built with kmemleak (the debug flavour).  The
// kernel only reports an object once it has been unreferenced for a while,
// so the guest asks for scans itself at the points where a leak must be
// visible, and copies every report to the console, where the host reads it
// like any other splat.
#pragma once

#include "guest/objects.hpp"

namespace luo::guest {

// Scans now and prints whatever kmemleak has found so far.  With
// `wait_for_age`, first waits out kmemleak's minimum object age, so that
// leaks made by the last steps are reported too.  Fails (-ENOENT) when the
// kernel has no kmemleak, or with the errno of a scan that did not run;
// the caller decides whether that matters (the plan's leak_scan).
Outcome kmemleak_check(bool wait_for_age);

} // namespace luo::guest
