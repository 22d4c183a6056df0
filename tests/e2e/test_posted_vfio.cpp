// SPDX-License-Identifier: GPL-2.0-only
//
// The posted VFIO rules end to end, on the reference series in its posted
// mode (posted-2026's kernel block): the two knobs of patch 0016 each break
// exactly the cases tests/data/knobs.json lists, by the posted rule, and the
// agreed suite, which never opens the group path, does not see the first;
// posted-2026 itself, whose iommufd never finishes, does not see the second.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "e2e_support.hpp"

using namespace luo;

TEST_CASE("the posted VFIO knobs break exactly their cases under posted-2026", "[e2e][knobs][vfio]")
{
	REQUIRE(test::knob_expectation("open-group-unguarded").contract == "posted-2026");
	e2e::check_knob_run("open-group-unguarded", "posted-open-group-unguarded");
}

TEST_CASE("finish-unbound is caught where the iommufd is restored, and unseen where it never is",
	  "[e2e][knobs][vfio]")
{
	// VFIO's FINISH rule (P5) decides only next to an iommufd that comes
	// back: under posted-2026 the iommufd's can_finish() is false for
	// good (P9), and every session with a device holds its iommufd too.
	const auto &e = test::knob_expectation("finish-unbound");
	REQUIRE_THAT(e.contract, Catch::Matchers::EndsWith("posted-2026-restoring.json"));
	e2e::check_knob_run("finish-unbound", "posted-restoring-finish-unbound");

	auto unseen = e2e::knob_config(e, "posted-finish-unbound-unseen");
	unseen.contract = "posted-2026";
	unseen.cases = {"iommufd-vfio/p:iommu,vfio/r:vfio"};
	e2e::check_all_pass(e2e::check_knob_unseen(unseen, 1), 1);
}

// Without races, that is: a racer that holds the group open while a device
// is retrieved catches the knob under agreed too (test_race.cpp).
TEST_CASE("the agreed suite opens no group path, so it misses open-group-unguarded",
	  "[e2e][knobs][vfio]")
{
	auto e = test::knob_expectation("open-group-unguarded");
	e.contract.clear();
	auto rep = host::run_suite(e2e::knob_config(e, "agreed-open-group-unguarded"));
	REQUIRE_FALSE(rep.cases.empty());
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
		for (const auto &s : c.steps)
			CHECK(s.op != protocol::Op::open_group);
	}
	CHECK(rep.exit_code == 0);
}

TEST_CASE("finish-unbound outside the unbound mode is refused by the kernel: setup, never green",
	  "[e2e][knobs][vfio]")
{
	// Under agreed the kernel boots without vfio.luo_retrieve=unbound, so
	// the knob has no FINISH rule to break.
	e2e::check_knob_needs_mode("finish-unbound", "iommufd-vfio/p:iommu,vfio/r:vfio",
				   "vfio.luo_retrieve=unbound");
}
