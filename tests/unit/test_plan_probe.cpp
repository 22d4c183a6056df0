// SPDX-License-Identifier: GPL-2.0-only
//
// A preserve whose "ok" counts on the VMM's probe (P7, P8) says so in the
// plan, so that the guest runs the probe exactly where the oracle counted
// on it and fails the step when it cannot, instead of leaving the rule
// unchecked.  Nothing else carries the flag.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>

#include "contracts.hpp"
#include "core/contract.hpp"
#include "core/expand.hpp"
#include "core/scenario.hpp"
#include "host/run/planner.hpp"
#include "protocol/plan.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;
using protocol::Op;

namespace {

// The preserve steps of the one case of kMemIommuVfio under `contract`,
// as the planner hands them to the guest: object suffix -> probe.
std::map<std::string, bool> planned_probes(const char *contract)
{
	const auto sc = core::parse_scenario(kMemIommuVfio, "s.json");
	auto cases = core::expand(sc, core::parse_contract(contract, "c.json"));
	REQUIRE(cases.size() == 1);
	auto batch = host::make_batch({&cases[0]});
	std::map<std::string, bool> out;
	for (const auto &s : batch.plan.steps) {
		if (s.op != Op::preserve)
			continue;
		for (const char *name : {"mem", "iommu", "vfio"})
			if (s.object.ends_with(name))
				out[name] = s.probe;
	}
	return out;
}

} // namespace

TEST_CASE("the plan asks for the probe on exactly the preserves P7 and P8 judged",
	  "[plan][planner][iommufd][vfio]")
{
	auto device = planned_probes(kMarkedDevice);
	CHECK(device == std::map<std::string, bool>{{"mem", false}, {"iommu", true}, {"vfio", true}});
	auto marked = planned_probes(kMarked);
	CHECK(marked == std::map<std::string, bool>{{"mem", false}, {"iommu", true}, {"vfio", false}});
	auto agreed = planned_probes(R"({})");
	CHECK(agreed == std::map<std::string, bool>{{"mem", false}, {"iommu", false}, {"vfio", false}});
}

TEST_CASE("a refused preserve runs no probe, whatever the rule names", "[plan][planner]")
{
	core::CaseStep s;
	s.op = Op::preserve;
	s.expect = {core::Expect::Kind::ok, "", "P8"};
	CHECK(core::runs_probe(s));
	s.expect = {core::Expect::Kind::error, "EINVAL", "P8"};
	CHECK_FALSE(core::runs_probe(s));
	s.expect = {core::Expect::Kind::ok, "", "P6"};
	CHECK_FALSE(core::runs_probe(s));
	s.op = Op::retrieve;
	s.expect = {core::Expect::Kind::ok, "", "P7"};
	CHECK_FALSE(core::runs_probe(s));
}

TEST_CASE("a step's probe crosses to the guest, and only on a preserve with marked HWPTs",
	  "[plan][iommufd]")
{
	protocol::Plan p;
	p.iommufd_seal_err = "EPERM";
	p.iommufd_immutable_err = "EBUSY";
	protocol::Step st;
	st.op = Op::preserve;
	st.session = "s";
	st.object = "o";
	st.probe = true;
	p.steps.push_back(st);
	st.id = 1;
	st.probe = false;
	p.steps.push_back(st);
	auto q = protocol::plan_from_json(protocol::plan_to_json(p));
	REQUIRE(q.steps.size() == 2);
	CHECK(q.steps[0].probe);
	CHECK_FALSE(q.steps[1].probe);
	CHECK(protocol::plan_for_boot(q, 0).steps[0].probe);

	auto j = nlohmann::json::parse(protocol::plan_to_json(p));
	CHECK_FALSE(j["steps"][1].contains("probe"));
	j["steps"][0]["op"] = "retrieve";
	CHECK_THROWS_WITH(protocol::plan_from_json(j.dump()),
			  ContainsSubstring("plan step 0") && ContainsSubstring("only a preserve"));
	j["steps"][0]["op"] = "preserve";
	j.erase("iommufd_seal_err");
	j.erase("iommufd_immutable_err");
	CHECK_THROWS_WITH(protocol::plan_from_json(j.dump()), ContainsSubstring("needs iommufd_seal_err"));
}
