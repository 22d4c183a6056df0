// SPDX-License-Identifier: GPL-2.0-only
//
// The reproducer's tables: one row per step of the case, stages counted
// across the kexecs it expects to go through, expectations as the oracle
// set them.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstdio>
#include <filesystem>

#include "core/contract.hpp"
#include "core/expand.hpp"
#include "core/scenario.hpp"
#include "guest/ioas_layout.hpp"
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

host::ReproConfig kvm_gmem_repro()
{
	host::ReproConfig cfg;
	cfg.id = "kvm-gmem/p:vm,gmem/r:gmem";
	cfg.run.scenarios = {(host::source_root() / "scenarios/deps/kvm-gmem.json").string()};
	return cfg;
}

// The first step of `c` doing `op`, numbered from 1 as the rig's messages
// number it; 0 when there is none.
int step_of(const core::Case &c, protocol::Op op)
{
	for (size_t i = 0; i < c.steps.size(); i++)
		if (c.steps[i].op == op)
			return (int)i + 1;
	return 0;
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

TEST_CASE("a refused kexec keeps the stage; VFIO objects are refused; mapped memfds are not", "[unit][reproducer]")
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

	auto two = only(R"({"name": "m", "objects": {"a": "memfd", "b": "memfd",
		"io": {"kind": "iommufd", "depends_on": ["a", "b"]}},
		"preserve": [["a", "b", "io"]], "restore": [[]]})");
	// Both memfds an iommufd maps: the first as its dependency, and each
	// whole in its own slot of the one IOAS, as mappings[] rows.
	auto both = host::reproducer_source(two, "agreed", "", "");
	CHECK_THAT(both, ContainsSubstring("{ \"io\", K_IOMMUFD, 0, "));
	CHECK_THAT(both, ContainsSubstring("{ \"a\", K_MEMFD, -1, "));
	CHECK_THAT(both, ContainsSubstring("#define NR_MAPPINGS 2\n"));
	CHECK_THAT(both, ContainsSubstring("{ 2, 0, 1U, 0x100000ULL, 0x0ULL, "));
	CHECK_THAT(both, ContainsSubstring("{ 2, 1, 1U, 0x1100000ULL, 0x0ULL, "));
}

TEST_CASE("a reproducer maps every IOAS of a layered iommufd where the mock VMM does",
	  "[unit][reproducer]")
{
	auto c = only(R"({"name": "l", "objects": {"mem": {"kind": "memfd", "size": 65536},
		"io": {"kind": "iommufd", "depends_on": "mem", "ioas": 3}},
		"preserve": [["mem", "io"]], "restore": [["mem", "io"]]})");
	auto src = host::reproducer_source(c, "agreed", "", "");
	CHECK_THAT(src, ContainsSubstring("{ \"io\", K_IOMMUFD, 0, 0ULL, 0U, 3U },"));
	// The rows are the layout the VMM maps and checks, range by range.
	const auto layout = guest::ioas_layout(3, 65536, 0);
	REQUIRE(layout.size() == 5);
	CHECK_THAT(src, ContainsSubstring("#define NR_MAPPINGS 5\n"));
	for (const auto &m : layout) {
		char row[128];
		std::snprintf(row, sizeof(row), "{ 1, 0, %uU, 0x%llxULL, 0x%llxULL, 0x%llxULL },",
			      m.ioas, (unsigned long long)m.iova, (unsigned long long)m.start,
			      (unsigned long long)m.length);
		CHECK_THAT(src, ContainsSubstring(row));
	}
	// No iommufd that maps anything: the table has its end row only.
	auto bare = only(R"({"name": "b", "objects": {"io": "iommufd"},
		"preserve": [["io"]], "restore": [["io"]]})");
	CHECK_THAT(host::reproducer_source(bare, "agreed", "", ""),
		   ContainsSubstring("#define NR_MAPPINGS 0\n"));
}

TEST_CASE("a reproducer tells its kernel what the contract's kernel block says", "[unit][reproducer]")
{
	namespace fs = std::filesystem;
	auto dir = fs::temp_directory_path() / "luo-rig-reproducer-args";
	fs::remove_all(dir);
	auto cfg = kvm_gmem_repro();
	// posted-2026 freezes the guest_memfd, which repro.c does not check.
	cfg.run.contract = "posted-2026";
	CHECK_THROWS_WITH(host::write_reproducer(cfg, dir),
			  ContainsSubstring("freezes guest_memfd 'gmem' at PRESERVE_FD") &&
				  ContainsSubstring("luo-rig repro"));
	fs::create_directories(dir);
	cfg.run.contract = (dir / "lookup.json").string();
	host::write_file_atomic(cfg.run.contract, R"({"kernel": {
	  "cmdline": "vfio.luo_lookup=preserve iommufd.luo_lookup=preserve",
	  "confirms": ["vfio: Live Update looks the iommufd up at PRESERVE_FD"]}})");
	host::write_reproducer(cfg, dir);
	CHECK(host::read_file(dir / "kernel-args") ==
	      "vfio.luo_lookup=preserve iommufd.luo_lookup=preserve\n");
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

TEST_CASE("reproducer --fail-nth arms one step, and only a step fail-nth arms",
	  "[unit][reproducer][inject]")
{
	auto c = only(R"({"name": "m", "objects": {"mem": "memfd"},
		"preserve": [["mem"]], "restore": [["mem"]]})");
	int preserve = step_of(c, protocol::Op::preserve), verify = step_of(c, protocol::Op::verify);
	REQUIRE(preserve > 0);
	REQUIRE(verify > 0);

	auto plain = host::reproducer_source(c, "agreed", "", "");
	CHECK_THAT(plain, ContainsSubstring("#define FAIL_NTH_STEP 0\n"));

	auto at = host::parse_fail_nth_at(std::to_string(preserve) + ":3", c);
	CHECK(at.step == preserve);
	CHECK(at.n == 3);
	auto armed = host::reproducer_source(c, "agreed", "", "", at);
	CHECK_THAT(armed, ContainsSubstring("#define FAIL_NTH_STEP " + std::to_string(preserve) + "\n"));
	CHECK_THAT(armed, ContainsSubstring("#define FAIL_NTH_N 3U\n"));
	CHECK_THAT(armed, ContainsSubstring("runs with fail-nth 3, then again unarmed"));

	for (const char *bad : {"", "4", "x:1", "0:1", "1:0", "1:-2", ":3", "99999999:1"})
		CHECK_THROWS_WITH(host::parse_fail_nth_at(bad, c), ContainsSubstring("give STEP:N"));
	CHECK_THROWS_WITH(host::parse_fail_nth_at("99:1", c),
			  ContainsSubstring("has " + std::to_string(c.steps.size()) + " steps"));
	// A verify is the VMM's own check, no Live Update call: the message
	// lists the steps that can be armed instead.
	CHECK_THROWS_WITH(host::parse_fail_nth_at(std::to_string(verify) + ":1", c),
			  ContainsSubstring("is verify, whose call fail-nth does not arm") &&
				  ContainsSubstring(std::to_string(preserve) + " preserve"));
}

TEST_CASE("an armed reproducer boots with slab_nomerge and says it needs the debug flavour",
	  "[unit][reproducer][inject]")
{
	namespace fs = std::filesystem;
	auto dir = fs::temp_directory_path() / "luo-rig-reproducer-fail-nth";
	fs::remove_all(dir);
	auto cfg = kvm_gmem_repro();
	int finish = step_of(host::resolve_case(cfg.run, cfg.id), protocol::Op::finish);
	REQUIRE(finish > 0);
	host::write_reproducer(cfg, dir, std::to_string(finish) + ":2");
	CHECK(host::read_file(dir / "kernel-args") == "slab_nomerge\n");
	CHECK_THAT(host::read_file(dir / "README"), ContainsSubstring("--kernel-flavour debug"));
	// Booting it on the default flavour would only end in the guest's
	// complaint: refused before anything is built.
	CHECK_THROWS_WITH(host::boot_reproducer(dir, {}, "tcg", "", false),
			  ContainsSubstring("add --kernel-flavour debug"));
	// Written again unarmed: nothing of the arming is left.
	host::write_reproducer(cfg, dir);
	CHECK_FALSE(fs::exists(dir / "kernel-args"));
	fs::remove_all(dir);
}

TEST_CASE("reproducer --race races what the racers change, and alone", "[unit][reproducer][race]")
{
	namespace fs = std::filesystem;
	auto c = only(R"({"name": "m", "objects": {"mem": "memfd"},
		"preserve": [["mem"]], "restore": [["mem"]]})");
	CHECK_THAT(host::reproducer_source(c, "agreed", "", ""), ContainsSubstring("#define RACE 0\n"));
	auto raced = host::reproducer_source(c, "agreed", "", "", {}, true);
	CHECK_THAT(raced, ContainsSubstring("#define RACE 1\n"));
	CHECK_THAT(raced, ContainsSubstring("Helper threads race each Live Update call"));

	auto dir = fs::temp_directory_path() / "luo-rig-reproducer-race";
	fs::remove_all(dir);
	auto cfg = kvm_gmem_repro();
	host::write_reproducer(cfg, dir, "", true);
	auto readme = host::read_file(dir / "README");
	CHECK_THAT(readme, ContainsSubstring("--vm-cpus 2"));
	CHECK_THAT(readme, ContainsSubstring("-pthread"));
	int finish = step_of(host::resolve_case(cfg.run, cfg.id), protocol::Op::finish);
	CHECK_THROWS_WITH(host::write_reproducer(cfg, dir, std::to_string(finish) + ":2", true),
			  ContainsSubstring("--race and --fail-nth together"));
	fs::remove_all(dir);

	// Nothing the racers change: refused, as a race run of it is.
	host::ReproConfig mem;
	mem.id = "smoke-memfd/p:mem/r:mem";
	mem.run.scenarios = {(host::source_root() / "scenarios/smoke/memfd.json").string()};
	CHECK_THROWS_WITH(host::write_reproducer(mem, dir, "", true),
			  ContainsSubstring("holds no guest-memfd or iommufd"));
	CHECK_FALSE(fs::exists(dir / "repro.c"));
}

TEST_CASE("a reproducer VM lost before its first line is run again; one that started is judged",
	  "[unit][reproducer]")
{
	using S = host::VmResult::Status;
	// The debug kernel stalled in its own boot, under TCG with two vCPUs:
	// nothing of the case ran.
	const std::string boot_only = "[    0.000000] Linux version 7.3.4\n"
				      "[    0.289472] random: crng init done\n";
	CHECK(host::reproducer_never_started(S::hang, boot_only));
	CHECK(host::reproducer_never_started(S::infra, ""));
	// The kernel's command line names luo_repro.stage: that is not the
	// reproducer speaking.
	CHECK(host::reproducer_never_started(
		S::hang, "[    0.6] Kernel command line: luo_repro.stage=2 luo_repro.via=6\n"));
	// Once the reproducer said its first line, a hang is the kernel's.
	const std::string started = boot_only + "repro: race/p:a/r:a, stage 1\n";
	CHECK_FALSE(host::reproducer_never_started(S::hang, started));
	CHECK_FALSE(host::reproducer_never_started(S::infra, "repro: x, stage 1\n"));
	// A VM that ended by itself, a panic's reboot included, is judged on
	// what it printed.
	CHECK_FALSE(host::reproducer_never_started(S::exited, boot_only));
	CHECK_FALSE(host::reproducer_never_started(S::interrupted, boot_only));
}
