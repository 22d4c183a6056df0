// SPDX-License-Identifier: GPL-2.0-only
//
// When the waiting-device racer (racer.hpp) may reach for a VFIO device:
// only while the kernel holds it for the VMM's RETRIEVE_FD.  Pure, so that
// the host's tests can ask it of any plan.
#pragma once

#include <string>

#include "protocol/plan.hpp"

namespace luo::guest {

// `object`'s RETRIEVE_FD is `step` or a later step of the same boot, the
// kernel after a kexec, and the VMM neither creates, opens nor retrieves
// it before then.  False for a step of a thread other than the main one:
// steps of other threads, the retrieve and the bind after it among them,
// may run beside it, and a racer holding the group of a device the VMM
// binds would fail the bind by VFIO's own rule.
bool held_for_retrieve(const protocol::Plan &plan, const protocol::Step &step,
		       const std::string &object);

} // namespace luo::guest
