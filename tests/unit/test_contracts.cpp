// SPDX-License-Identifier: GPL-2.0-only
//
// Contracts as files: the shipped ones say what the oracle used to have in
// code, a per-edge rule changes only its edge, bad files are refused with
// their place and fix, and `plan --diff` finds exactly the disagreements.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <filesystem>
#include <fstream>

#include "contracts.hpp"
#include "core/expand.hpp"
#include "core/plan_diff.hpp"
#include "core/scenario.hpp"
#include "host/run/suite.hpp"
#include "host/util/errors.hpp"
#include "oracle_table.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;
using core::Contract;
using core::EdgeRules;

namespace {

const auto error_of = &test::contract_error_of;

const char *kVfioThenIommu = R"({
  "objects": {"iommu": "iommufd", "vfio": "vfio-cdev", "vm": "kvm-vm", "gmem": "guest-memfd"},
  "preserve": [["vfio", "iommu", "gmem", "vm"]],
  "restore": [["iommu", "vfio", "vm", "gmem"]]
})";

} // namespace

TEST_CASE("the shipped contracts: agreed is the oracle's defaults, strict its old switches",
	  "[contract]")
{
	CHECK(shipped_names() == std::vector<std::string>{"agreed", "posted-2026", "strict"});

	Contract agreed = shipped("agreed");
	CHECK(agreed.name == "agreed");
	CHECK(agreed.rules == Contract::agreed().rules);
	CHECK(agreed.edges.empty());
	CHECK(agreed.vfio_cdev == Contract::agreed().vfio_cdev);
	CHECK(agreed.kernel_cmdline.empty());

	Contract strict = shipped("strict");
	EdgeRules s;
	s.preserve_needs_dependency = true;
	s.retrieve_needs_dependency = true;
	s.retrieve_binds_dependency = false;
	CHECK(strict.rules == s);
	CHECK(strict.edges.empty());
	CHECK(strict.vfio_cdev == Contract::agreed().vfio_cdev);
}

TEST_CASE("posted-2026 changes every edge and the vfio, guest_memfd and iommufd kinds, and tells the reference kernel", "[contract]")
{
	Contract p = shipped("posted-2026");
	using protocol::ObjectKind;
	CHECK(p.rules == Contract::agreed().rules);
	// guest_memfd v3 has no .can_finish(): FINISH never waits for the VM.
	EdgeRules gmem = p.edge(ObjectKind::guest_memfd, ObjectKind::kvm_vm);
	CHECK_FALSE(gmem.finish_needs_user_dependency);
	CHECK(gmem.sources.at("finish").version == "v3");
	gmem.finish_needs_user_dependency = true;
	gmem.sources.clear();
	CHECK(gmem == Contract::agreed().rules);
	CHECK(p.guest_memfd.preserve_freezes);
	CHECK(p.guest_memfd.freeze_err == "EPERM");
	CHECK(p.guest_memfd.source.message_id == p.edge(ObjectKind::guest_memfd, ObjectKind::kvm_vm)
							 .sources.at("finish").message_id);
	const EdgeRules &vfio = p.edge(ObjectKind::vfio_cdev, ObjectKind::iommufd);
	CHECK(vfio.preserve_needs_dependency);
	CHECK(vfio.preserve_dependency_err == "ENOENT");
	CHECK(vfio.freeze_needs_dependency);
	CHECK(vfio.retrieve_binds_dependency);
	// The same rule, read from two patches of the iommufd series.
	EdgeRules iommufd = p.edge(ObjectKind::iommufd, ObjectKind::memfd);
	CHECK(iommufd.sources.at("preserve").message_id != vfio.sources.at("preserve").message_id);
	iommufd.sources = vfio.sources;
	CHECK(iommufd == vfio);
	CHECK(p.vfio_cdev.open_needs_retrieve);
	CHECK(p.vfio_cdev.open_err == "EBUSY");
	// iommufd v1 11/14: marked HWPTs only, sealed mappings, immutable IOAS.
	CHECK(p.iommufd.preserve_marked_hwpts);
	CHECK(p.iommufd.seal_err == "EINVAL");
	CHECK(p.iommufd.immutable_err == "EBUSY");
	CHECK(p.iommufd.source.message_id == "<20260203220948.2176157-12-skhawaja@google.com>");
	// iommufd v1 12/14: a device on a page table must be on a marked HWPT.
	CHECK(p.vfio.preserve_needs_marked_hwpt);
	CHECK(p.vfio.unmarked_err == "EINVAL");
	CHECK(p.vfio.preserve_source.message_id == "<20260203220948.2176157-13-skhawaja@google.com>");
	CHECK(p.kernel_cmdline ==
	      "vfio.luo_lookup=preserve iommufd.luo_lookup=preserve vfio.luo_retrieve=unbound "
	      "kvm.gmem_luo_collect=preserve kvm.gmem_luo_finish=no-wait iommufd.luo_hwpt=token "
	      "iommufd.luo_restore=none");
	CHECK(p.kernel_confirms ==
	      std::vector<std::string>{"vfio: Live Update looks the iommufd up at PRESERVE_FD",
				       "iommufd: Live Update looks mapped files up at PRESERVE_FD",
				       "vfio: Live Update returns devices unbound at RETRIEVE_FD",
				       "kvm: Live Update freezes guest_memfd at PRESERVE_FD",
				       "kvm: Live Update finishes guest_memfd without its VM",
				       "iommufd: Live Update preserves marked HWPTs only, sealed and "
				       "immutable",
				       "iommufd: Live Update restores no iommufd, and devices stay "
				       "owned by their preserved HWPT"});

	// The oracle reads the edge: a device before its iommufd is refused
	// at once, guest_memfd before its VM is not.
	Oracle o(p, objects());
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "vfio", 4, "ENOENT", "S1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "P6"},
		       {Op::preserve, "s", "iommu", 3, "ok", "P7"},
		       {Op::preserve, "s", "vfio", 4, "ok", "P8"},
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
	       });

	// No FINISH rule for guest_memfd: its VM, retrieved by the kernel
	// alone, does not hold FINISH.
	Oracle g(p, objects());
	run(g, kSetup);
	run(g, {
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "P6"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "gmem", 2, "ok", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C4"},
	       });
}

TEST_CASE("an edge starts from the file's rules and errnos follow their edge", "[contract]")
{
	auto c = core::parse_contract(R"({
	  "rules": {"finish": {"dependency_not_retrieved": "refuse", "error": "EAGAIN"}},
	  "edges": {"guest-memfd->kvm-vm": {"finish": {"error": "EPERM"}},
		    "vfio-cdev->iommufd": {"retrieve": {"before_dependency": "refuse", "error": "EBUSY"}}}
	})", "/some/where/mine.json");
	using protocol::ObjectKind;
	CHECK(c.name == "mine");
	const auto &gmem = c.edge(ObjectKind::guest_memfd, ObjectKind::kvm_vm);
	const auto &vfio = c.edge(ObjectKind::vfio_cdev, ObjectKind::iommufd);
	CHECK(gmem.finish_dependency_err == "EPERM");
	CHECK(vfio.finish_dependency_err == "EAGAIN");
	CHECK(vfio.retrieve_needs_dependency);
	CHECK_FALSE(vfio.retrieve_binds_dependency);
	CHECK(gmem.retrieve_binds_dependency);

	Oracle o(c, objects());
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "C1"},
		       {Op::preserve, "s", "iommu", 3, "ok", "C1"},
		       {Op::preserve, "s", "vfio", 4, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "vfio", 4, "EBUSY", "S3"},
		       {Op::retrieve, "s", "gmem", 2, "ok", "C3"},
		       // gmem's edge answers, with its own errno.
		       {Op::finish, "s", "", 0, "EPERM", "C4"},
	       });
}

TEST_CASE("a bad contract file is refused with its place and the fix", "[contract]")
{
	CHECK_THAT(error_of(R"({"rules": {"preserve": {"before": "refuse"}}})"),
		   ContainsSubstring("c.json:1:") && ContainsSubstring("/rules/preserve/before") &&
			   ContainsSubstring("fields here are: before_dependency, error"));
	CHECK_THAT(error_of("{\n  \"edges\": {\"kvm-vm->guest-memfd\": {}}}"),
		   ContainsSubstring("c.json:2:13") &&
			   ContainsSubstring("edges are: guest-memfd->kvm-vm, vfio-cdev->iommufd, iommufd->memfd"));
	CHECK_THAT(error_of(R"({"rules": {"retrieve": {"before_dependency": "accept"}}})"),
		   ContainsSubstring("use \"restore-dependency\" or \"refuse\""));
	CHECK_THAT(error_of(R"({"rules": {"freeze": {"without_dependency": "accept", "error": "EIO"}}})"),
		   ContainsSubstring("an errno is for \"refuse\""));
	CHECK_THAT(error_of(R"({"rules": {"finish": {"error": "EWOULDBLOCK"}}})"),
		   ContainsSubstring("is reported as EAGAIN; write EAGAIN"));
	CHECK_THAT(error_of(R"({"rules": {"finish": {"error": "busy"}}})"),
		   ContainsSubstring("not an errno name"));
	CHECK_THAT(error_of(R"({"kernel": {"cmdline": "x=1"}})"),
		   ContainsSubstring("/kernel") && ContainsSubstring("\"confirms\""));
	CHECK_THAT(error_of(R"({"name": "Mine!"})"), ContainsSubstring("bad contract name 'Mine!'"));
	CHECK_THAT(error_of("{\"rules\": {,}}"), ContainsSubstring("c.json:1:") &&
						       ContainsSubstring("not valid JSON"));
	CHECK_THAT(error_of(R"({"rule": {}})"), ContainsSubstring("unknown field 'rule'"));
	CHECK_THAT(error_of(R"({"kinds": {"memfd": {"open": {}}}})"),
		   ContainsSubstring("/kinds/memfd") && ContainsSubstring("only \"vfio-cdev\""));
	CHECK_THAT(error_of(R"({"kinds": {"vfio-cdev": {"open": {"before_retrieve": "restore"}}}})"),
		   ContainsSubstring("use \"accept\" or \"refuse\""));
	CHECK_THAT(error_of(R"({"kinds": {"vfio-cdev": {"close": {}}}})"),
		   ContainsSubstring("fields here are: open"));
}

// D1 in the oracle: the device's cdev is refused while an incoming session
// carries its file unretrieved, and opens once the device is retrieved or
// FINISH drops it; a contract that lets it open says so per kind.
TEST_CASE("opening a preserved device: refused until retrieved or dropped, as the contract says",
	  "[contract][oracle]")
{
	const std::vector<Row> preserved{
		{Op::open_device, "", "vfio", 0, "ok", "LUO"},  // the first kernel: nothing held
		{Op::preserve, "s", "iommu", 3, "ok", "C1"},
		{Op::preserve, "s", "vfio", 4, "ok", "C1"},
		{Op::open_device, "", "vfio", 0, "ok", "LUO"},  // outgoing is not D1's
		{Op::kexec, "", "", 0, "ok", "C2"},
	};
	SECTION("agreed: EBUSY until the retrieve")
	{
		Oracle o(Contract::agreed(), objects());
		run(o, kSetup);
		run(o, preserved);
		run(o, {
			       {Op::open_device, "", "vfio", 0, "EBUSY", "D1"},  // before the session too
			       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
			       {Op::open_device, "", "vfio", 0, "EBUSY", "D1"},
			       {Op::retrieve, "s", "iommu", 3, "ok", "C3"},
			       {Op::open_device, "", "vfio", 0, "EBUSY", "D1"},
			       {Op::retrieve, "s", "vfio", 4, "ok", "C3"},
			       {Op::open_device, "", "vfio", 0, "ok", "LUO"},
			       {Op::open_device, "", "iommu", 0, "error", "stale"},  // no device node
		       });
	}
	SECTION("agreed: FINISH dropping the device lets it go")
	{
		Oracle o(Contract::agreed(), objects());
		run(o, kSetup);
		run(o, preserved);
		run(o, {
			       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
			       {Op::finish, "s", "", 0, "ok", "C5"},
			       {Op::open_device, "", "vfio", 0, "ok", "LUO"},
		       });
	}
	SECTION("a contract that lets the node open")
	{
		auto c = core::parse_contract(
			R"({"kinds": {"vfio-cdev": {"open": {"before_retrieve": "accept"}}}})", "open.json");
		CHECK_FALSE(c.vfio_cdev.open_needs_retrieve);
		Oracle o(c, objects());
		run(o, kSetup);
		run(o, preserved);
		run(o, {
			       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
			       {Op::open_device, "", "vfio", 0, "ok", "D1"},
		       });
	}
	SECTION("its own errno")
	{
		auto c = core::parse_contract(
			R"({"kinds": {"vfio-cdev": {"open": {"before_retrieve": "refuse", "error": "EPERM"}}}})",
			"perm.json");
		Oracle o(c, objects());
		run(o, kSetup);
		run(o, preserved);
		run(o, {{Op::open_device, "", "vfio", 0, "EPERM", "D1"}});
	}
}

TEST_CASE("a contract is a shipped name or a path, and an unknown name lists what exists",
	  "[contract][cli]")
{
	CHECK_THROWS_WITH(host::resolve_contract("lenient"),
			  ContainsSubstring("no such contract; the rig has agreed, posted-2026, strict"));
	CHECK_THROWS_AS(host::resolve_contract("/nonexistent/mine.json"), host::SetupError);
	CHECK_THROWS_WITH(host::resolve_contract("mine.json"), ContainsSubstring("no such file"));

	auto dir = std::filesystem::temp_directory_path() / "luo-rig-contract-test";
	std::filesystem::create_directories(dir);
	std::ofstream(dir / "late.json") << R"({"rules": {"freeze": {"without_dependency": "accept"}}})";
	auto c = host::resolve_contract((dir / "late.json").string());
	CHECK(c.name == "late");
	CHECK_FALSE(c.rules.freeze_needs_dependency);
	std::filesystem::remove_all(dir);
}

TEST_CASE("the default suite has no contract files among its scenarios", "[contract][suite]")
{
	for (const auto &f : host::scenario_files({}))
		CHECK(f.find("/contracts/") == std::string::npos);
}

TEST_CASE("plan --diff: the steps two contracts answer differently, outcomes only", "[contract]")
{
	auto sc = core::parse_scenario(kVfioThenIommu, "t.json");
	auto agreed = core::expand(sc, shipped("agreed"));
	auto posted = core::expand(sc, shipped("posted-2026"));
	auto d = core::diff_plans("agreed", agreed, "posted-2026", posted);
	CHECK(d.cases == 1);
	REQUIRE(d.differing.size() == 1);
	const auto &steps = d.differing[0].steps;
	REQUIRE_FALSE(steps.empty());
	CHECK(steps[0].a == "preserve(s,vfio,2)=ok:C1");
	CHECK(steps[0].b == "preserve(s,vfio,2)=ENOENT:S1");
	auto text = core::render_plan_diff(d);
	CHECK_THAT(text, ContainsSubstring("agreed | posted-2026: 1 of 1 cases differ") &&
				 ContainsSubstring("preserve(s,vfio,2): ok:C1 | ENOENT:S1"));

	// The same answers under other rule names are no difference: strict
	// calls a successful dependent-after-dependency preserve S1.
	auto again = core::diff_plans("agreed", agreed, "copy", core::expand(sc, shipped("agreed")));
	CHECK(again.differing.empty());
	CHECK(again.steps == 0);
	auto j = core::plan_diff_json(d);
	CHECK(j["differing_cases"] == 1);
	CHECK(j["diff"][0]["steps"][0]["posted-2026"] == "preserve(s,vfio,2)=ENOENT:S1");
}
