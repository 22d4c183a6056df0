// SPDX-License-Identifier: GPL-2.0-only
//
// Hand-derived oracle tables: one row per step with the outcome and rule
// the contract demands, checked against the oracle step by step.
#pragma once

#include <catch2/catch_test_macros.hpp>
#include <string>
#include <vector>

#include "core/case.hpp"
#include "core/expand.hpp"
#include "core/oracle.hpp"

namespace luo::test {

using core::CaseObject;
using core::Expect;
using core::Oracle;
using protocol::ObjectKind;
using protocol::Op;

struct Row {
	Op op;
	const char *session;
	const char *object;
	std::uint64_t token;
	const char *expect;  // "ok", "error" (any), or an errno name
	const char *rule;
};

inline std::vector<CaseObject> objects()
{
	return {
		{"vm", ObjectKind::kvm_vm, "", 0, 0},
		{"gmem", ObjectKind::guest_memfd, "vm", 2097152, 1},
		{"iommu", ObjectKind::iommufd, "", 0, 0},
		{"vfio", ObjectKind::vfio_cdev, "iommu", 0, 0},
		{"mem", ObjectKind::memfd, "", 65536, 2},
		{"evt", ObjectKind::unsupported, "", 0, 0},
	};
}

inline std::string show(const Expect &e)
{
	if (e.kind == Expect::Kind::ok)
		return "ok";
	if (e.kind == Expect::Kind::any_error)
		return "error";
	return e.err;
}

inline void run(Oracle &o, const std::vector<Row> &rows)
{
	for (std::size_t i = 0; i < rows.size(); i++) {
		const Row &r = rows[i];
		Expect e = o.apply({r.op, r.session, r.object, r.token, {}});
		INFO("row " << i << ": " << luo::protocol::to_string(r.op) << " " << r.session << " "
			    << r.object << " " << r.token);
		CHECK(show(e) == r.expect);
		CHECK(e.rule == r.rule);
	}
}

// Found with a held-out case: a FINISH left busy after two retrieves, with
// both dependents retrieved and neither dependency.  The rig once verified
// the dependents right after that FINISH, which the guest cannot do without
// the dependencies' fds.
inline const char *kBusyLeftFour = R"({
  "name": "busy-left",
  "objects": {"vm": "kvm-vm", "gmem": "guest-memfd", "iommu": "iommufd", "vfio": "vfio-cdev"},
  "preserve": [["vfio", "iommu", "gmem", "vm"]],
  "restore": [["vfio", "gmem", "iommu", "vm"]],
  "finish": {"at": 2, "on_busy": "leave"}
})";

// The steps an expanded case plans, against a hand-written story: the
// expansion decides which steps exist, the oracle what each must answer,
// and a table catches a wrong answer and a step that should not be there.
inline void check_case(const core::Case &c, const std::vector<Row> &rows)
{
	INFO(c.id << " under " << c.contract);
	for (std::size_t i = 0; i < rows.size() && i < c.steps.size(); i++) {
		const Row &r = rows[i];
		const core::CaseStep &s = c.steps[i];
		INFO("step " << i + 1 << ": " << luo::protocol::to_string(s.op) << " " << s.session
			     << " " << s.object << " " << s.token << ", table row: "
			     << luo::protocol::to_string(r.op) << " " << r.session << " " << r.object);
		CHECK(s.op == r.op);
		CHECK(s.session == r.session);
		CHECK(s.object == r.object);
		CHECK(s.token == r.token);
		CHECK(show(s.expect) == r.expect);
		CHECK(s.expect.rule == r.rule);
	}
	CHECK(c.steps.size() == rows.size());
}

// Expands a scenario of exactly one case under `contract` and checks that
// case against `rows`.
inline void check_only_case(const char *scenario, const core::Contract &contract,
			    const std::vector<Row> &rows)
{
	auto cases = core::expand(core::parse_scenario(scenario, "t.json"), contract);
	REQUIRE(cases.size() == 1);
	check_case(cases[0], rows);
}

// `first`, then `rest`.
inline std::vector<Row> then(std::vector<Row> first, const std::vector<Row> &rest)
{
	first.insert(first.end(), rest.begin(), rest.end());
	return first;
}

// Each object created, then session "s": how an expanded case begins,
// under any contract.
inline std::vector<Row> create_then_session(std::initializer_list<const char *> names)
{
	std::vector<Row> rows;
	for (const char *n : names)
		rows.push_back({Op::create, "", n, 0, "ok", "setup"});
	rows.push_back({Op::session_create, "s", "", 0, "ok", "setup"});
	return rows;
}

// A case over vm, gmem, iommu and vfio in one session.
inline const std::vector<Row> kCreateFour = create_then_session({"vm", "gmem", "iommu", "vfio"});

// `object` is retrieved inside the kernel only (for a dependent, or with
// its reply lost): userspace has no fd for it and did not retrieve it.
inline void check_kernel_only(const Oracle &o, const char *object)
{
	INFO(object);
	CHECK_FALSE(o.has_fd(object));
	CHECK_FALSE(o.user_retrieved(object));
}

// Creates every object and session "s".
inline const std::vector<Row> kSetup =
	create_then_session({"vm", "gmem", "iommu", "vfio", "mem", "evt"});

} // namespace luo::test
