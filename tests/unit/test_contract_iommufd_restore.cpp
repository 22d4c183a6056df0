// SPDX-License-Identifier: GPL-2.0-only
//
// What the next kernel gives back of an iommufd and of a device preserved on
// a marked HWPT.  The agreed contract restores both.  The posted iommufd
// series (v1) restores neither: the iommufd's RETRIEVE_FD fails and its
// can_finish() is always false (P9), and the device's group comes back owned
// by its preserved HWPT, so no bind succeeds (P10).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "contracts.hpp"
#include "core/contract.hpp"
#include "core/expand.hpp"
#include "core/plan_diff.hpp"
#include "core/scenario.hpp"
#include "host/util/paths.hpp"
#include "oracle_table.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;

namespace {

const auto error_of = &test::contract_error_of;

// kMarkedDevice plus the v1 restore rules and VFIO's FINISH rule, as
// posted-2026 has them.
constexpr const char *kV1 = R"({"kinds": {
	"iommufd": {"preserve": {"carries": "marked-hwpts"}, "retrieve": {"restores": "nothing"}},
	"vfio-cdev": {"retrieve": {"returns": "unbound"}, "preserve": {"hwpt": "marked"},
		      "open": {"paths": ["cdev", "group"]}, "bind": {"after_marked_hwpt": "refuse"},
		      "finish": {"unretrieved": "refuse", "until": "bound"}}}})";

const std::vector<Row> kChainSetup = {
	{Op::create, "", "mem", 0, "ok", "setup"},
	{Op::create, "", "iommu", 0, "ok", "setup"},
	{Op::create, "", "vfio", 0, "ok", "setup"},
	{Op::session_create, "s", "", 0, "ok", "setup"},
};

std::vector<CaseObject> chain()
{
	return {
		{"mem", ObjectKind::memfd, "", 65536, 2},
		{"iommu", ObjectKind::iommufd, "mem", 0, 0},
		{"vfio", ObjectKind::vfio_cdev, "iommu", 0, 0},
	};
}

// An oracle under `contract` that has seen the chain preserved in the posted
// order, the kexec and the session back.
Oracle crossed(const char *contract)
{
	Oracle o(core::parse_contract(contract, "c.json"), chain());
	run(o, kChainSetup);
	run(o, {
		       {Op::preserve, "s", "mem", 1, "ok", "C1"},
		       {Op::preserve, "s", "iommu", 2, "ok", "P7"},
		       {Op::preserve, "s", "vfio", 3, "ok", "P8"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
	       });
	return o;
}

} // namespace

TEST_CASE("an iommufd restored or not, a device bound or owned: defaults, posted-2026, sources",
	  "[contract][iommufd][vfio]")
{
	const auto agreed = core::Contract::agreed();
	CHECK_FALSE(agreed.iommufd.restores_nothing);
	CHECK_FALSE(agreed.vfio.bind_refused_after_marked);

	const auto posted = shipped("posted-2026");
	CHECK(posted.iommufd.restores_nothing);
	CHECK(posted.iommufd.retrieve_err == "EOPNOTSUPP");
	CHECK(posted.iommufd.finish_err == "EBUSY");
	CHECK(posted.iommufd.retrieve_source.message_id ==
	      "<20260203220948.2176157-12-skhawaja@google.com>");
	CHECK(posted.vfio.bind_refused_after_marked);
	CHECK(posted.vfio.bind_err == "EPERM");
	CHECK(posted.vfio.bind_source.message_id == "<20260203220948.2176157-9-skhawaja@google.com>");
	CHECK_THAT(posted.kernel_cmdline, ContainsSubstring("iommufd.luo_restore=none"));

	auto c = core::parse_contract(R"({"kinds": {"iommufd": {"preserve": {"carries": "marked-hwpts"},
		"retrieve": {"restores": "nothing", "error": "ENOSYS", "finish_error": "EAGAIN"}},
		"vfio-cdev": {"retrieve": {"returns": "unbound"},
			      "bind": {"after_marked_hwpt": "refuse", "error": "EBUSY"}}}})",
				      "c.json");
	CHECK(c.iommufd.retrieve_err == "ENOSYS");
	CHECK(c.iommufd.finish_err == "EAGAIN");
	CHECK(c.vfio.bind_err == "EBUSY");
}

TEST_CASE("a bad restore or bind rule is refused with its place and the fix", "[contract][iommufd][vfio]")
{
	CHECK_THAT(error_of(R"({"kinds": {"iommufd": {"retrieve": {"restores": "some"}}}})"),
		   ContainsSubstring("/kinds/iommufd/retrieve/restores") && ContainsSubstring("\"nothing\""));
	CHECK_THAT(error_of(R"({"kinds": {"iommufd": {"retrieve": {"error": "EOPNOTSUPP"}}}})"),
		   ContainsSubstring("/kinds/iommufd/retrieve/error") &&
			   ContainsSubstring("\"restores\": \"nothing\""));
	CHECK_THAT(error_of(R"({"kinds": {"iommufd": {"retrieve": {"restores": "nothing", "finish_error": "BUSY"}}}})"),
		   ContainsSubstring("/kinds/iommufd/retrieve/finish_error"));
	CHECK_THAT(error_of(R"({"kinds": {"iommufd": {"retrieve": {"restores": "nothing", "when": 1}}}})"),
		   ContainsSubstring("when"));
	// Only a device attached through a marked HWPT can come back owned.
	CHECK_THAT(error_of(R"({"kinds": {"vfio-cdev": {"bind": {"after_marked_hwpt": "refuse"}}}})"),
		   ContainsSubstring("/kinds/vfio-cdev/bind/after_marked_hwpt") &&
			   ContainsSubstring("\"carries\": \"marked-hwpts\""));
	CHECK_THAT(error_of(R"({"kinds": {"vfio-cdev": {"bind": {"error": "EPERM"}}}})"),
		   ContainsSubstring("/kinds/vfio-cdev/bind/error"));
}

TEST_CASE("P9: an iommufd that is not restored fails RETRIEVE_FD and every FINISH", "[contract][iommufd][oracle]")
{
	Oracle o = crossed(kV1);
	run(o, {
		       {Op::retrieve, "s", "iommu", 2, "EOPNOTSUPP", "P9"},
		       // The same answer again: nothing was restored the first time.
		       {Op::retrieve, "s", "iommu", 2, "EOPNOTSUPP", "P9"},
		       {Op::retrieve, "s", "mem", 1, "ok", "C3"},
		       {Op::retrieve, "s", "vfio", 3, "ok", "P3"},
		       // P10: the device's group belongs to its preserved HWPT.
		       {Op::bind_device, "", "vfio", 0, "EPERM", "P10"},
		       {Op::bind_device, "", "vfio", 0, "EPERM", "P10"},
		       {Op::check_unbound, "", "vfio", 0, "ok", "P3"},
		       {Op::verify, "", "mem", 0, "ok", "C3"},
		       // The iommufd is first in the session's files.
		       {Op::finish, "s", "", 0, "EBUSY", "P9"},
	       });
	CHECK(o.finish_blockers("s") == std::vector<std::string>{"iommu", "vfio"});
	CHECK_FALSE(o.checkable("vfio"));
	CHECK_FALSE(o.checkable("iommu"));
}

TEST_CASE("P10 binds nothing owned through the group path either, and only a device that crossed on a "
	  "marked HWPT is owned", "[contract][vfio][oracle]")
{
	Oracle o = crossed(kV1);
	run(o, {
		       {Op::open_group, "", "vfio", 0, "EBUSY", "D1"},
		       {Op::retrieve, "s", "vfio", 3, "ok", "P3"},
		       {Op::open_group, "", "vfio", 0, "EPERM", "P10"},
		       {Op::open_device, "", "vfio", 0, "ok", "LUO"},
	       });

	// A device moved off its marked HWPT is refused at preserve (P8) and
	// does not cross: the next kernel does not own it.
	Oracle m(core::parse_contract(kV1, "c.json"), chain());
	run(m, kChainSetup);
	run(m, {
		       {Op::preserve, "s", "mem", 1, "ok", "C1"},
		       {Op::preserve, "s", "iommu", 2, "ok", "P7"},
		       {Op::move_device, "", "vfio", 0, "ok", "LUO"},
		       {Op::preserve, "s", "vfio", 3, "EINVAL", "P8"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "vfio", 3, "ENOENT", "C7"},
		       {Op::open_group, "", "vfio", 0, "ok", "LUO"},
	       });

	// Without the rule the posted VMM binds the device to a new iommufd.
	Oracle a = crossed(kMarkedDevice);
	run(a, {
		       {Op::retrieve, "s", "vfio", 3, "ok", "P3"},
		       {Op::bind_device, "", "vfio", 0, "ok", "P3"},
	       });
}

TEST_CASE("plan --diff counts P9 and P10 against the reference restore", "[contract][iommufd][diff]")
{
	const auto sc = core::parse_scenario(kMemIommuVfio, "s.json");
	auto marked = core::expand(sc, core::parse_contract(kMarkedDevice, "m.json"));
	auto v1 = core::expand(sc, core::parse_contract(kV1, "v.json"));
	REQUIRE(v1.size() == 1);
	// A case that leaves its session unfinished cannot be chained.
	CHECK(marked[0].chainable());
	CHECK_FALSE(v1[0].chainable());
	auto d = core::diff_plans("marked", marked, "v1", v1);
	REQUIRE(d.differing.size() == 1);
	std::string all;
	for (const auto &s : d.differing[0].steps)
		all += s.b + "\n";
	CHECK_THAT(all, ContainsSubstring("=EOPNOTSUPP:P9") && ContainsSubstring("=EPERM:P10") &&
				ContainsSubstring("finish(s") && ContainsSubstring("=EBUSY:P9"));
}

TEST_CASE("posted-2026-restoring is posted-2026 without P9 and P10, and nothing else",
	  "[contract][iommufd]")
{
	const auto posted = shipped("posted-2026");
	const auto restoring = core::load_contract(
		(host::source_root() / "tests/data/contracts/posted-2026-restoring.json").string());
	CHECK(restoring.name == "posted-2026-restoring");
	CHECK(restoring.rules == posted.rules);
	CHECK(restoring.edges == posted.edges);
	CHECK(restoring.vfio_cdev == posted.vfio_cdev);
	CHECK(restoring.guest_memfd == posted.guest_memfd);
	auto vfio = posted.vfio;
	vfio.bind_refused_after_marked = false;
	vfio.bind_source = {};
	CHECK(restoring.vfio == vfio);
	auto iommufd = posted.iommufd;
	iommufd.restores_nothing = false;
	iommufd.retrieve_source = {};
	CHECK(restoring.iommufd == iommufd);
	CHECK(restoring.kernel_cmdline + " iommufd.luo_restore=none" == posted.kernel_cmdline);
	CHECK(restoring.kernel_confirms.size() + 1 == posted.kernel_confirms.size());
}
