// SPDX-License-Identifier: GPL-2.0-only
//
// The posted guest_memfd rules end to end, on the reference series in its
// posted mode (posted-2026's kernel block, patch 0031): PRESERVE_FD freezes
// the mapping (P6) and FINISH does not wait for the VM.  Each knob of patch
// 0032 breaks exactly the cases tests/data/knobs.json lists; the agreed
// suite on the same kernel fails exactly where `plan --diff` says the two
// contracts part, at that step.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <map>

#include "core/expand.hpp"
#include "core/plan_diff.hpp"
#include "e2e_support.hpp"
#include "host/run/contracts.hpp"
#include "host/util/atomic_file.hpp"

using namespace luo;

namespace {

const char *kGmem = "scenarios/deps/kvm-gmem.json";

} // namespace

TEST_CASE("the posted guest_memfd knobs break exactly their cases under posted-2026",
	  "[e2e][knobs][gmem]")
{
	auto knob = GENERATE(as<std::string>{}, "gmem-preserve-unfrozen", "gmem-finish-waits");
	REQUIRE(test::knob_expectation(knob).contract == "posted-2026");
	e2e::check_knob_run(knob, "posted-" + knob);
}

TEST_CASE("on the posted-mode kernel, agreed fails kvm-gmem exactly where plan --diff says",
	  "[e2e][gmem]")
{
	// The agreed rules with the posted kernel block: the kernel freezes and
	// never waits, the oracle expects neither.
	auto cfg = e2e::config_for({kGmem}, "agreed-on-posted-gmem");
	std::filesystem::create_directories(cfg.out_dir);
	const auto posted = host::resolve_contract("posted-2026");
	nlohmann::json kernel{{"cmdline", posted.kernel_cmdline}, {"confirms", posted.kernel_confirms}};
	cfg.contract = (cfg.out_dir / "agreed-posted-kernel.json").string();
	host::write_file_atomic(cfg.contract, nlohmann::json{{"kernel", kernel}}.dump(1));

	auto files = std::vector<std::string>{(host::source_root() / kGmem).string()};
	auto diff = core::diff_plans("agreed", core::expand_files(files, core::Contract::agreed()),
				     "posted-2026", core::expand_files(files, posted));
	std::map<std::string, std::size_t> first_step;
	for (const auto &c : diff.differing)
		first_step[c.id] = c.steps.front().index;
	REQUIRE(first_step.size() == 10);

	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 10);
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		REQUIRE(first_step.count(c.id));
		CHECK(c.verdict == host::Verdict::violation);
		CHECK(c.failed_step == static_cast<int>(first_step[c.id]));
		// The freeze itself is what agreed did not expect: the VMM's
		// fallocate of a late page, refused.
		if (c.failed_step >= 0) {
			const auto &s = c.steps[c.failed_step];
			CHECK(s.op == protocol::Op::preserve);
			CHECK(s.err == "EPERM");
		}
	}
	CHECK(rep.exit_code == 1);
}

TEST_CASE("the agreed suite misses gmem-finish-waits: its FINISH rule is the one agreed expects",
	  "[e2e][knobs][gmem]")
{
	auto e = test::knob_expectation("gmem-finish-waits");
	auto cfg = e2e::knob_config(e, "agreed-gmem-finish-waits");
	// Agreed rules, on a kernel in the posted mode: only there can the knob
	// be armed, and only FINISH would tell.
	std::filesystem::create_directories(cfg.out_dir);
	nlohmann::json kernel{{"cmdline", "kvm.gmem_luo_finish=no-wait"},
			      {"confirms", {"kvm: Live Update finishes guest_memfd without its VM"}}};
	cfg.contract = (cfg.out_dir / "agreed-no-wait.json").string();
	host::write_file_atomic(cfg.contract, nlohmann::json{{"kernel", kernel}}.dump(1));
	e2e::check_all_pass(host::run_suite(cfg), 10);
}

TEST_CASE("gmem-preserve-unfrozen outside the freezing mode is refused by the kernel: setup, never green",
	  "[e2e][knobs][gmem]")
{
	e2e::check_knob_needs_mode("gmem-preserve-unfrozen", "kvm-gmem/p:vm,gmem/r:gmem",
				   "kvm.gmem_luo_collect=preserve");
}
