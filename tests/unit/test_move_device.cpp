// SPDX-License-Identifier: GPL-2.0-only
//
// The move-device fault: after the preserves, the VMM moves a VFIO device to
// a page table it does not mark.  The scenario says which device, the
// oracle lets the move through as plain VFIO and, under a contract with P8,
// refuses the device's next preserve; the step travels to the guest as
// "move-device".
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "contracts.hpp"
#include "core/contract.hpp"
#include "core/scenario.hpp"
#include "oracle_table.hpp"
#include "protocol/plan.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;

namespace {

std::string scenario_error(const std::string &text)
{
	try {
		core::parse_scenario(text, "scenarios/x.json");
	} catch (const core::ScenarioError &e) {
		return e.what();
	}
	return "(accepted)";
}

std::string with_faults(const std::string &faults)
{
	return R"({"objects": {"mem": "memfd", "iommu": {"kind": "iommufd", "depends_on": "mem"},
		   "vfio": {"kind": "vfio-cdev", "depends_on": "iommu"}},
		   "faults": )" + faults + "}";
}

} // namespace

TEST_CASE("move-device names a VFIO device bound to an iommufd, the VMM holding both",
	  "[scenario][vfio]")
{
	auto sc = core::parse_scenario(with_faults(R"([{"action": "move-device", "object": "vfio"}])"),
				       "scenarios/x.json");
	REQUIRE(sc.faults.size() == 1);
	CHECK(sc.faults[0].action == core::Fault::Action::move_device);
	CHECK(sc.faults[0].object == "vfio");

	CHECK_THAT(scenario_error(with_faults(R"([{"action": "move-device", "object": "mem"}])")),
		   ContainsSubstring("/faults/0/object") && ContainsSubstring("a memfd") &&
			   ContainsSubstring("name a vfio-cdev"));
	CHECK_THAT(scenario_error(with_faults(R"([{"action": "move-device"}])")),
		   ContainsSubstring("needs \"object\""));
	CHECK_THAT(scenario_error(with_faults(R"([{"action": "move-device", "object": "vfio", "to": 1}])")),
		   ContainsSubstring("to"));
	// The new page table is made in the device's iommufd: closed before
	// the move, there is none to make it in.
	CHECK_THAT(scenario_error(with_faults(R"([{"action": "close-object", "object": "iommu"},
						    {"action": "move-device", "object": "vfio"}])")),
		   ContainsSubstring("/faults/1/object") && ContainsSubstring("put the close-object after it"));
	CHECK_THAT(scenario_error(with_faults(R"([{"action": "close-object", "object": "vfio"},
						    {"action": "move-device", "object": "vfio"}])")),
		   ContainsSubstring("/faults/1/object"));
	CHECK(scenario_error(with_faults(R"([{"action": "move-device", "object": "vfio"},
					     {"action": "close-object", "object": "iommu"}])")) ==
	      "(accepted)");
}

TEST_CASE("a device moved off its marked HWPT is refused at its next preserve under P8 alone",
	  "[contract][vfio][oracle]")
{
	const std::vector<Row> setup{
		{Op::create, "", "iommu", 0, "ok", "setup"},
		{Op::create, "", "vfio", 0, "ok", "setup"},
		{Op::session_create, "s", "", 0, "ok", "setup"},
	};
	Oracle p(core::parse_contract(kMarkedDevice, "c.json"), objects());
	run(p, setup);
	run(p, {
		       {Op::preserve, "s", "iommu", 3, "ok", "P7"},
		       {Op::preserve, "s", "vfio", 4, "ok", "P8"},
		       // Plain VFIO: nothing stops the move of a preserved device.
		       {Op::move_device, "", "vfio", 0, "ok", "LUO"},
		       // C8 takes both out; the device, now on an unmarked
		       // HWPT, is refused before its iommufd is looked up.
		       {Op::session_close, "s", "", 0, "ok", "C8"},
		       {Op::session_create, "s", "", 0, "ok", "setup"},
		       {Op::preserve, "s", "vfio", 4, "EINVAL", "P8"},
		       {Op::preserve, "s", "iommu", 3, "ok", "P7"},
		       {Op::preserve, "s", "vfio", 4, "EINVAL", "P8"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "vfio", 4, "ENOENT", "C7"},
	       });

	// The agreed contract has no P8: the moved device goes through.
	Oracle a(core::Contract::agreed(), objects());
	run(a, setup);
	run(a, {
		       {Op::preserve, "s", "iommu", 3, "ok", "C1"},
		       {Op::move_device, "", "vfio", 0, "ok", "LUO"},
		       {Op::preserve, "s", "vfio", 4, "ok", "C1"},
	       });

	// No fd for the device, or none for its iommufd: nothing to move.
	Oracle n(core::Contract::agreed(), objects());
	run(n, {{Op::move_device, "", "vfio", 0, "error", "stale"}});
	run(n, setup);
	run(n, {
		       {Op::close_object, "", "iommu", 0, "ok", "setup"},
		       {Op::move_device, "", "vfio", 0, "error", "stale"},
	       });
}

TEST_CASE("move-device travels to the guest by name", "[plan][vfio]")
{
	CHECK(std::string(protocol::to_string(Op::move_device)) == "move-device");
	protocol::Plan p;
	p.objects.push_back({"vfio", ObjectKind::vfio_cdev, "iommu", 0, 0});
	p.objects.push_back({"iommu", ObjectKind::iommufd, "", 0, 0});
	protocol::Step s;
	s.op = Op::move_device;
	s.object = "vfio";
	p.steps.push_back(s);
	auto q = protocol::plan_from_json(protocol::plan_to_json(p));
	REQUIRE(q.steps.size() == 1);
	CHECK(q.steps[0].op == Op::move_device);
}
