// SPDX-License-Identifier: GPL-2.0-only
//
// Small hand-made cases for the planner, judge and report tests.
#pragma once

#include <vector>

#include "core/case.hpp"
#include "host/run/verdict.hpp"

namespace luo::test {

using core::Expect;
using protocol::ObjectKind;
using protocol::Op;

inline core::CaseStep step(Op op, std::string session = "", std::string object = "",
			   std::uint64_t token = 0, Expect e = {})
{
	core::CaseStep s;
	s.op = op;
	s.session = std::move(session);
	s.object = std::move(object);
	s.token = token;
	s.expect = std::move(e);
	return s;
}

// A step as the judge leaves it once the guest reported it and it matched,
// with the counts --inject fail-nth and race add.
inline host::StepResult ran_step(Op op, std::uint32_t injected = 0, std::uint32_t absorbed = 0,
				 std::uint32_t raced = 0)
{
	host::StepResult s;
	s.op = op;
	s.executed = true;
	s.matches = true;
	s.injected = injected;
	s.absorbed = absorbed;
	s.raced = raced;
	return s;
}

inline Expect err(const char *name, const char *rule = "")
{
	return Expect{Expect::Kind::error, name, rule};
}

// The planner takes cases by pointer.
inline std::vector<const core::Case *> ptrs_of(std::vector<core::Case> &cases)
{
	std::vector<const core::Case *> out;
	for (auto &c : cases)
		out.push_back(&c);
	return out;
}

// memfd: preserve, kexec, retrieve, verify, finish.
inline core::Case memfd_case(std::string id)
{
	core::Case c;
	c.id = std::move(id);
	c.scenario = "unit";
	c.objects.push_back({"mem", ObjectKind::memfd, "", 4096, 7});
	c.steps = {step(Op::create, "", "mem"),       step(Op::session_create, "s"),
		   step(Op::preserve, "s", "mem", 1),  step(Op::kexec),
		   step(Op::session_retrieve, "s"),    step(Op::retrieve, "s", "mem", 1),
		   step(Op::verify, "", "mem"),        step(Op::finish, "s")};
	return c;
}

// vfio without its iommufd: the kexec is refused, the dependency preserved,
// and the batch's kexec carries the case on.
inline core::Case refused_case(std::string id)
{
	core::Case c;
	c.id = std::move(id);
	c.scenario = "unit";
	c.objects.push_back({"ioas", ObjectKind::iommufd});
	c.objects.push_back({"dev", ObjectKind::vfio_cdev, "ioas"});
	c.steps = {step(Op::create, "", "ioas"),
		   step(Op::create, "", "dev"),
		   step(Op::session_create, "s"),
		   step(Op::preserve, "s", "dev", 2),
		   step(Op::kexec, "", "", 0, err("ENOENT", "C2")),
		   step(Op::preserve, "s", "ioas", 1),
		   step(Op::kexec),
		   step(Op::session_retrieve, "s"),
		   step(Op::retrieve, "s", "dev", 2),
		   step(Op::retrieve, "s", "ioas", 1),
		   step(Op::finish, "s")};
	return c;
}

// vfio on its iommufd, preserved in order: a case that leaves nothing behind.
inline core::Case vfio_case(std::string id)
{
	core::Case c;
	c.id = std::move(id);
	c.scenario = "unit";
	c.objects.push_back({"ioas", ObjectKind::iommufd});
	c.objects.push_back({"dev", ObjectKind::vfio_cdev, "ioas"});
	c.steps = {step(Op::create, "", "ioas"),      step(Op::create, "", "dev"),
		   step(Op::session_create, "s"),      step(Op::preserve, "s", "ioas", 1),
		   step(Op::preserve, "s", "dev", 2),  step(Op::kexec),
		   step(Op::session_retrieve, "s"),    step(Op::retrieve, "s", "ioas", 1),
		   step(Op::retrieve, "s", "dev", 2),  step(Op::verify, "", "dev"),
		   step(Op::finish, "s")};
	return c;
}

} // namespace luo::test
