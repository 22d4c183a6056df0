// SPDX-License-Identifier: GPL-2.0-only
//
// iommufd v1's missing restore end to end, on the reference series in its
// posted mode (posted-2026's kernel block, patch 0039): the iommufd's
// RETRIEVE_FD fails and no session holding one finishes (P9), a device
// preserved on a marked HWPT comes back owned by it and no bind goes
// through (P10).  Each knob of patch 0040 breaks exactly the cases
// tests/data/knobs.json lists; test_contracts.cpp counts what the guest saw
// of both rules over the VFIO scenarios.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "e2e_support.hpp"

using namespace luo;

TEST_CASE("the knobs of the mode that restores nothing break exactly their cases under posted-2026",
	  "[e2e][knobs][iommufd]")
{
	auto knob = GENERATE(as<std::string>{}, "iommufd-restore-finishes", "vfio-bind-owned");
	REQUIRE(test::knob_expectation(knob).contract == "posted-2026");
	e2e::check_knob_run(knob, "posted-" + knob);
}

TEST_CASE("vfio-bind-owned outside the mode that restores nothing is refused by the kernel: setup, "
	  "never green",
	  "[e2e][knobs][iommufd]")
{
	e2e::check_knob_needs_mode("vfio-bind-owned", "iommufd-memfd-vfio/p:mem,iommu,vfio/r:-",
				   "iommufd.luo_restore=none");
}
