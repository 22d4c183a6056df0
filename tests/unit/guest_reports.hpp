// SPDX-License-Identifier: GPL-2.0-only
//
// The events a guest would send for a batch, for the judge's unit tests.
#pragma once

#include <catch2/catch_test_macros.hpp>
#include <map>

#include "host/run/planner.hpp"
#include "host/vm/vm.hpp"

namespace luo::test {

// The plan id of a case's first step with this op.
inline unsigned step_id(const host::Batch &b, const std::string &case_id, protocol::Op op)
{
	for (const auto &s : b.plan.steps)
		if (s.case_id == case_id && s.op == op)
			return s.id;
	FAIL("no " << protocol::to_string(op) << " step of " << case_id);
	return 0;
}

// Every step returning `results[id]` (0 when absent), for steps up to `upto`.
inline host::VmResult guest_reports(const host::Batch &b, std::map<unsigned, int> results = {},
				    size_t upto = ~size_t{0})
{
	host::VmResult vm;
	vm.status = host::VmResult::Status::done;
	for (const auto &s : b.plan.steps) {
		if (s.id >= upto)
			break;
		protocol::Event ev;
		ev.type = protocol::EventType::step;
		ev.step = s.id;
		ev.op = s.op;
		ev.boot = s.boot;
		ev.result = results.count(s.id) ? results[s.id] : 0;
		ev.err = protocol::errno_name(ev.result);
		vm.events.push_back(ev);
	}
	return vm;
}

} // namespace luo::test
