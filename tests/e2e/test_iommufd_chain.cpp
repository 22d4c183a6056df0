// SPDX-License-Identifier: GPL-2.0-only
//
// Three files deep: a VFIO device bound to an iommufd whose IOAS maps a
// memfd.  Restored in every order, the iommufd must still map the memfd at
// the same IOVA, and the device must reach the memfd through it: the edu
// device copies a page of the memfd into itself and back.  With ioas-unmapped
// the kernel restores the IOAS empty, and both checks must say so.
#include <catch2/catch_test_macros.hpp>

#include <set>

#include "e2e_support.hpp"

using namespace luo;

namespace {

bool has(const std::string &s, const char *what)
{
	return s.find(what) != std::string::npos;
}

// What the restored objects of a case answered: verify steps after the kexec
// that ran with the memfd in userspace's hands (so the device DMAs), and
// those without.
struct Checks {
	int dma = 0;
	int dma_failed = 0;
	int mapping_failed = 0;
};

Checks restored_checks(const host::CaseResult &c)
{
	Checks out;
	bool crossed = false;
	std::set<std::string> held;
	for (std::size_t i = 0; i < c.steps.size(); i++) {
		const auto &s = c.steps[i];
		crossed = crossed || s.op == protocol::Op::kexec;
		if (!crossed || !s.executed)
			continue;
		const std::string obj = s.object.substr(s.object.find('.') + 1);
		if (s.op == protocol::Op::retrieve && s.result == 0)
			held.insert(obj);
		if (s.op == protocol::Op::verify && obj == "iommu" && s.result != 0) {
			CHECK(has(s.detail, "IOMMU_IOAS_COPY"));
			out.mapping_failed++;
		}
		if (s.op != protocol::Op::verify || obj != "vfio" || !held.count("mem"))
			continue;
		INFO(c.id << " step " << i + 1 << ": " << s.result << " " << s.detail);
		out.dma++;
		if (s.result == 0) {
			CHECK(has(s.detail, "edu DMA from page at offset"));
			CHECK(has(s.detail, "4096 bytes as written"));
		} else {
			CHECK(has(s.detail, "the IOVA does not reach the memfd"));
			out.dma_failed++;
		}
	}
	return out;
}

} // namespace

TEST_CASE("a device DMAs through a restored IOAS into the restored memfd, in every order",
	  "[e2e][chain]")
{
	auto cfg = e2e::config_for({"scenarios/deps/iommufd-memfd-vfio.json"}, "chain");
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 96);
	int dma = 0;
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
		Checks k = restored_checks(c);
		CHECK(k.dma_failed == 0);
		CHECK(k.mapping_failed == 0);
		dma += k.dma;
	}
	// Every case that retrieves all three checks the device at least twice
	// (after its retrieve or its dependency's, and after FINISH).
	CHECK(dma >= 2 * 36);
	CHECK(rep.exit_code == 0);
}

TEST_CASE("ioas-unmapped is caught at the restored iommufd and by the device's DMA",
	  "[e2e][chain][knobs]")
{
	const auto &e = test::knob_expectation("ioas-unmapped");
	auto rep = host::run_suite(e2e::knob_config(e, "chain-ioas-unmapped"));
	REQUIRE(rep.cases.size() == 96);
	// Exactly the cases that retrieve the iommufd or the device, each at
	// the restored iommufd's check (tests/data/knobs.json).
	for (const auto &m : e2e::knob_mismatches(e, rep))
		FAIL_CHECK(m);
	int dma_failed = 0;
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		Checks k = restored_checks(c);
		dma_failed += k.dma_failed;
		// Every DMA the knob let through would be a pass it must not get.
		CHECK(k.dma_failed == k.dma);
		if (c.verdict == host::Verdict::pass) {
			// Only a case that never checks the restored iommufd or
			// device with the memfd in hand.
			CHECK(k.dma == 0);
			CHECK(k.mapping_failed == 0);
			continue;
		}
		const auto &s = c.steps[c.failed_step];
		CHECK((has(s.detail, "IOMMU_IOAS_COPY") || has(s.detail, "the IOVA does not reach the memfd")));
	}
	CHECK(dma_failed > 0);
	CHECK(rep.exit_code == 1);
}
