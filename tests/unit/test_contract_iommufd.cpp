// SPDX-License-Identifier: GPL-2.0-only
//
// kinds.iommufd: PRESERVE_FD carries only the HWPTs userspace marked, sealed
// and then immutable (P7); the agreed contract carries everything.  The rule
// reaches the guest through the plan, names the preserve step of an iommufd
// a device is bound to, and counts as a disagreement in `plan --diff`.
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

TEST_CASE("iommufd's marked HWPTs: off by default, on with its errnos and source",
	  "[contract][iommufd]")
{
	CHECK_FALSE(core::Contract::agreed().iommufd.preserve_marked_hwpts);
	CHECK_FALSE(core::parse_contract("{}", "c.json").iommufd.preserve_marked_hwpts);
	CHECK_FALSE(core::parse_contract(R"({"kinds": {"iommufd": {"preserve": {"carries": "everything"}}}})",
					 "c.json")
			    .iommufd.preserve_marked_hwpts);

	auto d = core::parse_contract(kMarked, "c.json");
	CHECK(d.iommufd.preserve_marked_hwpts);
	CHECK(d.iommufd.seal_err == "EINVAL");
	CHECK(d.iommufd.immutable_err == "EBUSY");

	auto c = core::parse_contract(R"({"kinds": {"iommufd": {"preserve": {
	  "carries": "marked-hwpts", "seal_error": "EPERM", "immutable_error": "EROFS",
	  "source": {"message_id": "<a@b>", "version": "v1", "date": "2026-02-03"}}},
	  "vfio-cdev": {"retrieve": {"returns": "unbound"}}}})",
				      "c.json");
	CHECK(c.iommufd.seal_err == "EPERM");
	CHECK(c.iommufd.immutable_err == "EROFS");
	CHECK(c.iommufd.source.message_id == "<a@b>");
	CHECK(c.iommufd.source.version == "v1");
}

TEST_CASE("a bad iommufd rule is refused with its place and the fix", "[contract][iommufd]")
{
	CHECK_THAT(error_of(R"({"kinds": {"iommufd": {"preserve": {"carries": "hwpts"}}}})"),
		   ContainsSubstring("/kinds/iommufd/preserve/carries") &&
			   ContainsSubstring("\"marked-hwpts\""));
	CHECK_THAT(error_of(R"({"kinds": {"iommufd": {"preserve": {"seal_error": "EINVAL"}}}})"),
		   ContainsSubstring("/kinds/iommufd/preserve/seal_error") &&
			   ContainsSubstring("\"carries\": \"marked-hwpts\""));
	CHECK_THAT(error_of(R"({"kinds": {"iommufd": {"preserve": {"carries": "marked-hwpts"}}}})"),
		   ContainsSubstring("/kinds/iommufd/preserve/carries") &&
			   ContainsSubstring("\"returns\": \"unbound\""));
	CHECK_THAT(error_of(R"({"kinds": {"iommufd": {"preserve": {"carries": "marked-hwpts",
	  "immutable_error": "EWHAT"}}}})"),
		   ContainsSubstring("/kinds/iommufd/preserve/immutable_error"));
	CHECK_THAT(error_of(R"({"kinds": {"iommufd": {"finish": {}}}})"),
		   ContainsSubstring("/kinds/iommufd/finish") && ContainsSubstring("preserve, retrieve"));
	CHECK_THAT(error_of(R"({"kinds": {"memfd": {}}})"), ContainsSubstring("\"iommufd\""));
}

TEST_CASE("P7 names the preserve of an iommufd a device is bound to, and only that",
	  "[contract][iommufd][oracle]")
{
	auto marked = core::parse_contract(kMarked, "c.json");
	Oracle o(marked, objects());
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "iommu", 3, "ok", "P7"},
		       {Op::preserve, "s", "vfio", 4, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
	       });

	// No device bound to it: nothing is marked, nothing to check.
	auto lone = objects();
	std::erase_if(lone, [](const auto &o) { return o.name == "vfio"; });
	Oracle l(marked, lone);
	run(l, create_then_session({"mem", "iommu"}));
	run(l, {{Op::preserve, "s", "iommu", 3, "ok", "C1"}});

	// The agreed contract never says P7.
	Oracle a(core::Contract::agreed(), objects());
	run(a, kSetup);
	run(a, {{Op::preserve, "s", "iommu", 3, "ok", "C1"}});
}

TEST_CASE("plan --diff counts P7 against C1 as a disagreement, and P7 alone", "[contract][iommufd][diff]")
{
	const auto sc = core::parse_scenario(kMemIommuVfio, "s.json");
	// The same contract but for the iommufd rule: only P7 differs.
	auto unbound = core::parse_contract(R"({"kinds": {"vfio-cdev": {"retrieve": {"returns": "unbound"}}}})",
					    "u.json");
	auto plain = core::expand(sc, unbound);
	auto marked = core::expand(sc, core::parse_contract(kMarked, "c.json"));
	auto d = core::diff_plans("unbound", plain, "marked", marked);
	REQUIRE(d.differing.size() == 1);
	REQUIRE(d.differing[0].steps.size() == 1);
	CHECK_THAT(d.differing[0].steps[0].b, ContainsSubstring("preserve(s,iommu,") &&
						      ContainsSubstring("=ok:P7"));
}

TEST_CASE("the plan carries the iommufd errnos to the guest, both or neither", "[plan][iommufd]")
{
	protocol::Plan p;
	CHECK(protocol::plan_from_json(protocol::plan_to_json(p)).iommufd_seal_err.empty());
	p.iommufd_seal_err = "EINVAL";
	p.iommufd_immutable_err = "EBUSY";
	auto q = protocol::plan_from_json(protocol::plan_to_json(p));
	CHECK(q.iommufd_seal_err == "EINVAL");
	CHECK(q.iommufd_immutable_err == "EBUSY");
	CHECK(protocol::plan_for_boot(q, 1).iommufd_immutable_err == "EBUSY");

	auto j = nlohmann::json::parse(protocol::plan_to_json(p));
	j.erase("iommufd_immutable_err");
	CHECK_THROWS_WITH(protocol::plan_from_json(j.dump()), ContainsSubstring("come together"));
	j["iommufd_immutable_err"] = "BUSY";
	CHECK_THROWS_WITH(protocol::plan_from_json(j.dump()), ContainsSubstring("not an errno name"));
}
