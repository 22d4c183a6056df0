// SPDX-License-Identifier: GPL-2.0-only
//
// The reproducer's tables: one row per step of the case, stages counted
// across the kexecs it expects to go through, expectations as the oracle
// set them.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <filesystem>

#include "core/contract.hpp"
#include "core/expand.hpp"
#include "core/scenario.hpp"
#include "host/cmd/reproducer.hpp"
#include "host/run/contracts.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/paths.hpp"
#include "host/util/errors.hpp"

using namespace luo;
using Catch::Matchers::ContainsSubstring;

namespace {

core::Case only(const char *json)
{
	auto cases = core::expand(core::parse_scenario(json, "t.json"), core::Contract::agreed());
	REQUIRE(cases.size() == 1);
	return cases[0];
}

} // namespace

TEST_CASE("reproducer tables follow the case step by step", "[unit][reproducer]")
{
	auto c = only(R"({"name": "g", "objects": {"vm": "kvm-vm",
		"gmem": {"kind": "guest-memfd", "size": 12288}},
		"preserve": [["vm", "gmem"]], "restore": [["gmem"]]})");
	auto src = host::reproducer_source(c, "agreed", "drop-contents", "/* runtime */\n");
	CHECK_THAT(src, ContainsSubstring("#define CASE_ID \"g/p:vm,gmem/r:gmem\""));
	CHECK_THAT(src, ContainsSubstring("#define NR_STEPS " + std::to_string(c.steps.size())));
	CHECK_THAT(src, ContainsSubstring("luo_fault=drop-contents"));
	CHECK_THAT(src, ContainsSubstring("{ \"gmem\", K_GUEST_MEMFD, 0, 12288ULL, "));
	// Stage 1 until the kexec, stage 2 after it; a busy FINISH by errno name.
	CHECK_THAT(src, ContainsSubstring("{ 1, OP_KEXEC, NULL, -1, 0ULL, E_OK, 0, \"C2\" }"));
	CHECK_THAT(src, ContainsSubstring("{ 2, OP_FINISH, \"s\", -1, 0ULL, E_ERRNO, EBUSY, \"C4\" }"));
	CHECK_THAT(src, ContainsSubstring("/* runtime */"));
	// The file starts with what the runtime needs defined first.
	CHECK(src.find("#define _GNU_SOURCE") < src.find("#include"));
}

TEST_CASE("a refused kexec keeps the stage; VFIO objects are refused", "[unit][reproducer]")
{
	auto c = only(R"({"name": "r", "objects": {"vm": "kvm-vm",
		"gmem": {"kind": "guest-memfd"}}, "preserve": [["vm", "gmem"]],
		"restore": [[]], "faults": [{"action": "retry-kexec", "withhold": ["vm"]}]})");
	auto src = host::reproducer_source(c, "agreed", "", "");
	CHECK_THAT(src, ContainsSubstring("{ 1, OP_KEXEC, NULL, -1, 0ULL, E_ERRNO, ENOENT, \"C2\" }"));
	CHECK_THAT(src, ContainsSubstring("{ 1, OP_KEXEC, NULL, -1, 0ULL, E_OK, 0, \"C2\" }"));
	CHECK_THAT(src, ContainsSubstring("{ 2, OP_SESSION_RETRIEVE"));

	auto v = only(R"({"name": "v", "objects": {"io": "iommufd", "dev": "vfio-cdev"},
		"preserve": [["io", "dev"]], "restore": [[]]})");
	CHECK_THROWS_WITH(host::reproducer_source(v, "agreed", "", ""),
			  ContainsSubstring("'dev' is a vfio-cdev"));
}

TEST_CASE("a reproducer tells its kernel what the contract's kernel block says", "[unit][reproducer]")
{
	namespace fs = std::filesystem;
	auto dir = fs::temp_directory_path() / "luo-rig-reproducer-args";
	fs::remove_all(dir);
	host::ReproConfig cfg;
	cfg.id = "kvm-gmem/p:vm,gmem/r:gmem";
	cfg.run.scenarios = {(host::source_root() / "scenarios/deps/kvm-gmem.json").string()};
	cfg.run.contract = "posted-2026";
	host::write_reproducer(cfg, dir);
	CHECK(host::read_file(dir / "kernel-args") ==
	      "vfio.luo_lookup=preserve iommufd.luo_lookup=preserve vfio.luo_retrieve=unbound\n");
	CHECK_THAT(host::read_file(dir / "README"),
		   ContainsSubstring("booted with: liveupdate=on retain_initrd vfio.luo_lookup=preserve "
				     "iommufd.luo_lookup=preserve"));
	// Rewritten for a contract without one: no stale parameters left.
	cfg.run.contract = "agreed";
	host::write_reproducer(cfg, dir);
	CHECK_FALSE(fs::exists(dir / "kernel-args"));
	fs::remove_all(dir);

	CHECK(host::contract_argument("posted-2026") == "posted-2026");
	CHECK(host::contract_argument("mine.json") == (fs::current_path() / "mine.json").string());
}
