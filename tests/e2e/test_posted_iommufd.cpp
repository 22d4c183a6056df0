// SPDX-License-Identifier: GPL-2.0-only
//
// The posted iommufd rules end to end, on the reference series in its posted
// mode (posted-2026's kernel block, patches 0034 and 0036): PRESERVE_FD of an
// iommufd carries only the HWPTs the VMM marked, refuses a mapping that was
// not sealed when it was mapped, and leaves the IOAS immutable (P7); a VFIO
// device on an HWPT that is not marked cannot be preserved (P8).  Each knob
// of patches 0035 and 0037 breaks exactly the cases tests/data/knobs.json
// lists, and the suite without the rule it breaks misses it.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <fstream>

#include "e2e_support.hpp"
#include "host/run/contracts.hpp"
#include "host/util/atomic_file.hpp"

using namespace luo;

TEST_CASE("the posted iommufd knobs break exactly their cases under posted-2026",
	  "[e2e][knobs][iommufd]")
{
	auto knob = GENERATE(as<std::string>{}, "iommufd-preserve-unsealed", "iommufd-preserve-mutable",
			     "vfio-preserve-unmarked");
	REQUIRE(test::knob_expectation(knob).contract == "posted-2026");
	e2e::check_knob_run(knob, "posted-" + knob);
}

TEST_CASE("a VMM that marks no HWPT misses the posted iommufd knobs", "[e2e][knobs][iommufd]")
{
	auto knob = GENERATE(as<std::string>{}, "iommufd-preserve-unsealed", "iommufd-preserve-mutable");
	auto e = test::knob_expectation(knob);
	auto cfg = e2e::knob_config(e, "unmarked-" + knob);
	// posted-2026 as it was before P7 (and P8, P10): the same kernel block
	// (the knobs need iommufd.luo_hwpt=token), no marked HWPTs, so the VMM
	// attaches its devices to an IOAS and the kernel has no marked HWPT
	// to check.  That kernel refuses each device on its unmarked page
	// table (EINVAL, where this contract expects it preserved), the same
	// with the knob as without: the suite sees nothing of the knob.
	std::ifstream in(host::source_root() / "scenarios/contracts/posted-2026.json");
	auto posted = nlohmann::json::parse(in);
	posted["kinds"]["iommufd"].erase("preserve");
	posted["kinds"]["vfio-cdev"].erase("preserve");
	// A device attached to no marked HWPT is not owned after the kexec
	// (P10 needs marks too); the iommufd still comes back as nothing (P9).
	posted["kinds"]["vfio-cdev"].erase("bind");
	posted["name"] = "posted-2026-unmarked";
	std::filesystem::create_directories(cfg.out_dir);
	cfg.contract = (cfg.out_dir / "posted-unmarked.json").string();
	host::write_file_atomic(cfg.contract, posted.dump(1));
	cfg.cases = {"iommufd-memfd-vfio/p:mem,iommu,vfio/*"};
	e2e::check_knob_unseen(cfg, 16);
}

TEST_CASE("a VMM that never tries a device on an unmarked HWPT misses vfio-preserve-unmarked",
	  "[e2e][knobs][iommufd]")
{
	auto e = test::knob_expectation("vfio-preserve-unmarked");
	auto cfg = e2e::knob_config(e, "no-p8-vfio-preserve-unmarked");
	// posted-2026 as it was before P8: the VMM marks the HWPT of every
	// device and never moves one off it, so the kernel's check has nothing
	// to refuse and the knob nothing to change.
	std::ifstream in(host::source_root() / "scenarios/contracts/posted-2026.json");
	auto posted = nlohmann::json::parse(in);
	posted["kinds"]["vfio-cdev"].erase("preserve");
	posted["name"] = "posted-2026-no-p8";
	std::filesystem::create_directories(cfg.out_dir);
	cfg.contract = (cfg.out_dir / "posted-no-p8.json").string();
	host::write_file_atomic(cfg.contract, posted.dump(1));
	cfg.cases = {"iommufd-memfd-vfio/p:mem,iommu,vfio/*"};
	// Green with the knob, and no different without it.
	e2e::check_all_pass(e2e::check_knob_unseen(cfg, 16), 16);
}

TEST_CASE("iommufd-preserve-mutable outside the HWPT-token mode is refused by the kernel: setup, never green",
	  "[e2e][knobs][iommufd]")
{
	e2e::check_knob_needs_mode("iommufd-preserve-mutable", "iommufd-memfd-vfio/p:mem,iommu,vfio/r:-",
				   "iommufd.luo_hwpt=token");
}

TEST_CASE("an iommufd preserved again: its IOAS is immutable, the seal probe stands aside and LUO refuses",
	  "[e2e][iommufd]")
{
	// The probe maps into the marked HWPT's IOAS before the PRESERVE_FD;
	// on an iommufd preserved already that map is refused, and the step
	// must still be the LUO core's EBUSY (C7), in its own session and in
	// another, never the probe's failure.
	auto cfg = e2e::config_for({}, "posted-iommufd-preserve-twice");
	std::filesystem::create_directories(cfg.out_dir);
	const auto file = cfg.out_dir / "iommufd-twice.json";
	host::write_file_atomic(file, R"({
  "name": "iommufd-twice",
  "objects": {"mem": "memfd", "iommu": {"kind": "iommufd", "depends_on": "mem"},
	      "vfio": {"kind": "vfio-cdev", "depends_on": "iommu"}, "other": "memfd"},
  "sessions": {"s": ["mem", "iommu", "vfio"], "o": ["other"]},
  "preserve": "declared",
  "restore": "declared",
  "faults": [
    {"action": "preserve-twice", "object": "iommu"},
    {"action": "preserve-twice", "object": "iommu", "session": "o"}
  ]
})");
	cfg.scenarios = {file.string()};
	cfg.contract = "posted-2026";
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 1);
	const auto &c = rep.cases[0];
	INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
	CHECK(c.verdict == host::Verdict::pass);
	int p7 = 0, refused = 0;
	for (const auto &s : c.steps) {
		if (s.op != protocol::Op::preserve || s.object != "iommu")
			continue;
		p7 += s.expect.rule == "P7" && s.result == 0;
		refused += s.expect.rule == "C7" && s.err == "EBUSY";
	}
	CHECK(p7 == 1);
	CHECK(refused == 2);
	CHECK(rep.exit_code == 0);
}
