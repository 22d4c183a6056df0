// SPDX-License-Identifier: GPL-2.0-only
//
// kinds.vfio-cdev.preserve: a device attached to a page table that is not a
// marked HWPT cannot be preserved (P8, with marked HWPTs); the agreed
// contract preserves a device whatever it is attached to.  The rule reaches
// the guest through the plan, names the preserve step of a device the VMM
// attached through a marked HWPT, and counts as a disagreement in
// `plan --diff`.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "contracts.hpp"
#include "core/contract.hpp"
#include "core/expand.hpp"
#include "core/plan_diff.hpp"
#include "core/scenario.hpp"
#include "oracle_table.hpp"
#include "protocol/plan.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;

namespace {

const auto error_of = &test::contract_error_of;

} // namespace

TEST_CASE("a device's marked HWPT: off by default, on with its errno and source",
	  "[contract][vfio][iommufd]")
{
	CHECK_FALSE(core::Contract::agreed().vfio.preserve_needs_marked_hwpt);
	CHECK_FALSE(core::parse_contract(kMarked, "c.json").vfio.preserve_needs_marked_hwpt);
	CHECK_FALSE(core::parse_contract(R"({"kinds": {"vfio-cdev": {"preserve": {"hwpt": "any"}}}})",
					 "c.json")
			    .vfio.preserve_needs_marked_hwpt);

	auto d = core::parse_contract(kMarkedDevice, "c.json");
	CHECK(d.vfio.preserve_needs_marked_hwpt);
	CHECK(d.vfio.unmarked_err == "EINVAL");

	auto c = core::parse_contract(R"({"kinds": {"iommufd": {"preserve": {"carries": "marked-hwpts"}},
	  "vfio-cdev": {"retrieve": {"returns": "unbound"}, "preserve": {"hwpt": "marked",
	  "error": "EPERM", "source": {"message_id": "<a@b>", "version": "v1"}}}}})",
				      "c.json");
	CHECK(c.vfio.unmarked_err == "EPERM");
	CHECK(c.vfio.preserve_source.message_id == "<a@b>");
	CHECK(c.vfio.preserve_source.version == "v1");
}

TEST_CASE("a bad rule for a device's HWPT is refused with its place and the fix",
	  "[contract][vfio][iommufd]")
{
	CHECK_THAT(error_of(R"({"kinds": {"vfio-cdev": {"preserve": {"hwpt": "some"}}}})"),
		   ContainsSubstring("/kinds/vfio-cdev/preserve/hwpt") && ContainsSubstring("\"marked\""));
	CHECK_THAT(error_of(R"({"kinds": {"vfio-cdev": {"preserve": {"error": "EINVAL"}}}})"),
		   ContainsSubstring("/kinds/vfio-cdev/preserve/error") &&
			   ContainsSubstring("\"hwpt\": \"marked\""));
	CHECK_THAT(error_of(R"({"kinds": {"vfio-cdev": {"preserve": {"hwpt": "marked", "error": "EBAD"}}}})"),
		   ContainsSubstring("/kinds/vfio-cdev/preserve/error"));
	// Nothing is marked unless the iommufd carries marked HWPTs: every
	// device would be refused.
	CHECK_THAT(error_of(R"({"kinds": {"vfio-cdev": {"preserve": {"hwpt": "marked"}}}})"),
		   ContainsSubstring("/kinds/vfio-cdev/preserve/hwpt") &&
			   ContainsSubstring("\"carries\": \"marked-hwpts\""));
	CHECK_THAT(error_of(R"({"kinds": {"vfio-cdev": {"preserve": {"hwpt": "marked", "when": 1}}}})"),
		   ContainsSubstring("when"));
}

TEST_CASE("P8 names the preserve of a device the VMM attached through a marked HWPT",
	  "[contract][vfio][oracle]")
{
	auto device = core::parse_contract(kMarkedDevice, "c.json");
	Oracle o(device, objects());
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "iommu", 3, "ok", "P7"},
		       {Op::preserve, "s", "vfio", 4, "ok", "P8"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
	       });

	// Without the device's rule the same step is C1's.
	Oracle m(core::parse_contract(kMarked, "c.json"), objects());
	run(m, kSetup);
	run(m, {
		       {Op::preserve, "s", "iommu", 3, "ok", "P7"},
		       {Op::preserve, "s", "vfio", 4, "ok", "C1"},
	       });

	// The agreed contract never says P8.
	Oracle a(core::Contract::agreed(), objects());
	run(a, kSetup);
	run(a, {{Op::preserve, "s", "vfio", 4, "ok", "C1"}});
}

TEST_CASE("plan --diff counts P8 against C1 as a disagreement, and P8 alone", "[contract][vfio][diff]")
{
	const auto sc = core::parse_scenario(kMemIommuVfio, "s.json");
	auto marked = core::expand(sc, core::parse_contract(kMarked, "m.json"));
	auto device = core::expand(sc, core::parse_contract(kMarkedDevice, "d.json"));
	auto d = core::diff_plans("marked", marked, "device", device);
	REQUIRE(d.differing.size() == 1);
	REQUIRE(d.differing[0].steps.size() == 1);
	CHECK_THAT(d.differing[0].steps[0].b, ContainsSubstring("preserve(s,vfio,") &&
						      ContainsSubstring("=ok:P8"));
}

TEST_CASE("the plan carries a device's HWPT errno to the guest, with marked HWPTs only",
	  "[plan][vfio][iommufd]")
{
	protocol::Plan p;
	CHECK(protocol::plan_from_json(protocol::plan_to_json(p)).vfio_unmarked_err.empty());
	p.iommufd_seal_err = "EINVAL";
	p.iommufd_immutable_err = "EBUSY";
	p.vfio_unmarked_err = "EINVAL";
	auto q = protocol::plan_from_json(protocol::plan_to_json(p));
	CHECK(q.vfio_unmarked_err == "EINVAL");
	CHECK(protocol::plan_for_boot(q, 1).vfio_unmarked_err == "EINVAL");

	auto j = nlohmann::json::parse(protocol::plan_to_json(p));
	j["vfio_unmarked_err"] = "INVAL";
	CHECK_THROWS_WITH(protocol::plan_from_json(j.dump()), ContainsSubstring("not an errno name"));
	j["vfio_unmarked_err"] = "EINVAL";
	j.erase("iommufd_seal_err");
	j.erase("iommufd_immutable_err");
	CHECK_THROWS_WITH(protocol::plan_from_json(j.dump()), ContainsSubstring("needs iommufd_seal_err"));
}
