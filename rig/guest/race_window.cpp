// SPDX-License-Identifier: GPL-2.0-only
#include "guest/race_window.hpp"

namespace luo::guest {

using protocol::Op;

bool held_for_retrieve(const protocol::Plan &plan, const protocol::Step &step,
		       const std::string &object)
{
	// The kernel before the first kexec holds no device for a retrieve.
	if (step.boot == 0 || step.thread != 0)
		return false;
	bool from_now = false;
	for (const auto &s : plan.steps) {
		if (s.id == step.id)
			from_now = true;
		if (s.boot != step.boot || s.object != object)
			continue;
		if (s.op == Op::retrieve)
			return from_now && s.thread == 0;
		// The VMM's own hands on the device before its retrieve.
		if (s.op == Op::create || s.op == Op::open_device || s.op == Op::open_group ||
		    s.op == Op::retrieve_unwritable || s.op == Op::verify_fresh)
			return false;
	}
	return false;
}

} // namespace luo::guest
