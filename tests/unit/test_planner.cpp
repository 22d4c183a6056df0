// SPDX-License-Identifier: GPL-2.0-only
#include <catch2/catch_test_macros.hpp>
#include <set>

#include "core/contract.hpp"
#include "core/expand.hpp"
#include "core/scenario.hpp"
#include "host/run/planner.hpp"
#include "host_fixtures.hpp"

using namespace luo;
using namespace luo::test;

TEST_CASE("a batch gives every case its own sessions and objects", "[unit][planner]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	CHECK(batch.boots == 1);
	std::set<std::string> sessions, objects;
	for (const auto &o : batch.plan.objects)
		objects.insert(o.name);
	for (const auto &s : batch.plan.steps)
		if (!s.session.empty())
			sessions.insert(s.session);
	CHECK(objects.size() == 2);
	CHECK(sessions.size() == 2);
	for (const auto &s : sessions)
		CHECK(s.size() < 64); // LIVEUPDATE_SESSION_NAME_LENGTH
}

TEST_CASE("one shared kexec separates the boots", "[unit][planner]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	int kexecs = 0;
	unsigned boot = 0;
	for (size_t i = 0; i < batch.plan.steps.size(); i++) {
		const auto &s = batch.plan.steps[i];
		CHECK(s.id == i);
		CHECK(s.boot >= boot); // never back to an earlier kernel
		boot = s.boot;
		if (s.op == protocol::Op::kexec) {
			kexecs++;
			CHECK(s.case_id.empty());
			CHECK(batch.refs[i].case_index == -1);
		}
	}
	CHECK(kexecs == 1);
	CHECK(batch.refs.size() == batch.plan.steps.size());
}

TEST_CASE("cases whose kexec must fail go first, with a private kexec", "[unit][planner]")
{
	auto a = memfd_case("a"), r = refused_case("r");
	auto batch = host::make_batch({&a, &r});
	REQUIRE(batch.plan.steps.size() > 0);
	CHECK(batch.plan.steps.front().case_id == "r");
	int private_kexec = 0;
	for (const auto &s : batch.plan.steps)
		if (s.op == protocol::Op::kexec && s.case_id == "r") {
			private_kexec++;
			CHECK(s.boot == 0);
		}
	CHECK(private_kexec == 1);
	CHECK(batch.plan.edu_devices.size() == 1);
}

TEST_CASE("batches respect the VFIO device and case limits", "[unit][planner]")
{
	std::vector<core::Case> cases;
	for (int i = 0; i < 10; i++)
		cases.push_back(refused_case("r" + std::to_string(i)));
	auto ptrs = ptrs_of(cases);
	host::PlanLimits lim;
	lim.max_edu = 4;
	auto groups = host::split_cases(ptrs, lim);
	CHECK(groups.size() == 3);
	for (auto &g : groups)
		CHECK(host::make_batch(g).plan.edu_devices.size() <= 4);
	lim.max_edu = 100;
	lim.max_cases = 5;
	CHECK(host::split_cases(ptrs, lim).size() == 2);
}

TEST_CASE("an iommufd's further memfds cross the plan and each boot's part of it", "[unit][planner]")
{
	auto cases = core::expand(core::parse_scenario(R"({"name": "m", "objects": {"a": "memfd",
		"b": "memfd", "io": {"kind": "iommufd", "depends_on": ["a", "b"]}},
		"preserve": [["a", "b", "io"]], "restore": [["io"]]})", "t.json"),
				  core::Contract::agreed());
	REQUIRE(cases.size() == 1);
	auto batch = host::make_batch({&cases[0]});
	const protocol::ObjectSpec *io = nullptr;
	for (const auto &o : batch.plan.objects)
		if (o.kind == protocol::ObjectKind::iommufd)
			io = &o;
	REQUIRE(io);
	REQUIRE(io->also_maps.size() == 1);
	// Named as the planner names every object of the case.
	CHECK(io->also_maps[0] == io->depends_on.substr(0, io->depends_on.size() - 1) + "b");
	auto back = protocol::plan_from_json(protocol::plan_to_json(batch.plan));
	// The next kernel retrieves only the iommufd, yet gets both memfds'
	// specs: the checks go through them.
	auto next = protocol::plan_for_boot(back, 1);
	std::set<std::string> names;
	for (const auto &o : next.objects)
		names.insert(o.name);
	CHECK(names.count(io->depends_on));
	CHECK(names.count(io->also_maps[0]));
}
