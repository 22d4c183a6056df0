// SPDX-License-Identifier: GPL-2.0-only
//
// An iommufd as a VMM with several address spaces has it: three IOAS, five
// mappings of one memfd (whole, then its halves swapped at IOVAs of their
// own), a device on the last IOAS.  Every mapping must come back with its
// extent, and the device's DMA must reach the right page of the memfd
// through each.  ioas-maps-first, which restores every mapping into the
// first IOAS, passes the one-IOAS scenario and fails this one.
#include <catch2/catch_test_macros.hpp>

#include "e2e_support.hpp"

using namespace luo;

TEST_CASE("an iommufd with three IOAS comes back whole, and the device DMAs through each mapping",
	  "[e2e][iommufd][sized]")
{
	auto cfg = e2e::config_for({"scenarios/deps/iommufd-layers.json"}, "iommufd-layers");
	if (!e2e::full_size())
		// ci/test: one preserve order, both restore orders.
		cfg.cases = {"iommufd-layers/p:mem,iommu,vfio/*"};
	auto rep = host::run_suite(cfg);
	REQUIRE_FALSE(rep.cases.empty());
	int dma = 0;
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
		bool crossed = false;
		for (const auto &s : c.steps) {
			crossed = crossed || s.op == protocol::Op::kexec;
			if (!crossed || s.op != protocol::Op::verify || s.object != "vfio")
				continue;
			INFO(s.detail);
			CHECK(s.result == 0);
			dma += s.detail.find("4096 bytes as written; the same through each of the 5 "
					     "mappings of its 3 IOAS") != std::string::npos;
		}
	}
	CHECK(dma >= static_cast<int>(rep.cases.size()));
	CHECK(rep.exit_code == 0);
}

TEST_CASE("ioas-maps-first passes one IOAS and is caught with three", "[e2e][iommufd][knobs]")
{
	const auto &e = test::knob_expectation("ioas-maps-first");
	auto rep = host::run_suite(e2e::knob_config(e, "knob-ioas-maps-first"));
	for (const auto &m : e2e::knob_mismatches(e, rep))
		FAIL_CHECK(m);
	int one = 0, three = 0;
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		if (c.scenario == "iommufd-memfd-vfio") {
			// Today's one-IOAS suite cannot see it.
			CHECK(c.verdict == host::Verdict::pass);
			one++;
		} else {
			three += c.verdict == host::Verdict::violation;
		}
	}
	CHECK(one > 0);
	CHECK(three > 0);
	CHECK(rep.exit_code == 1);
}
