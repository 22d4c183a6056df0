// SPDX-License-Identifier: GPL-2.0-only
//
// An iommufd that maps two memfds, as a VMM with guest RAM in several files
// has it.  Each memfd is a dependency of its own: the freeze refuses while
// the second alone is missing, FINISH waits for the second alone, and after
// restore the device's DMA reaches each memfd through each of its own
// mappings.  iommufd-restore-one-file, which maps every range from the first
// file, passes every case whose iommufd maps one memfd and fails these.
#include <catch2/catch_test_macros.hpp>

#include "e2e_support.hpp"

using namespace luo;

namespace {

const host::StepResult *first_step(const host::CaseResult &c, protocol::Op op, const std::string &object = "")
{
	for (const auto &s : c.steps)
		if (s.op == op && (object.empty() || s.object == object))
			return &s;
	return nullptr;
}

} // namespace

TEST_CASE("an iommufd that maps two memfds needs, restores and waits for each",
	  "[e2e][iommufd][sized]")
{
	auto cfg = e2e::config_for({"scenarios/deps/iommufd-memfds.json",
				    "scenarios/faults/withhold-mapped.json"},
				   "iommufd-memfds");
	if (!e2e::full_size())
		// ci/test: one preserve order, every restore order, and the fault.
		cfg.cases = {"iommufd-memfds/p:mem,mem2,iommu,vfio/*", "fault-withhold-mapped/*"};
	auto rep = host::run_suite(cfg);
	REQUIRE_FALSE(rep.cases.empty());
	int dma = 0, withheld = 0, waited = 0;
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
		bool crossed = false;
		for (const auto &s : c.steps) {
			crossed = crossed || (s.op == protocol::Op::kexec && s.result == 0);
			if (crossed && s.op == protocol::Op::verify && s.object == "vfio" && s.result == 0)
				dma += s.detail.find("the same through each of the 6 mappings of its 2 IOAS") !=
				       std::string::npos;
		}
		if (c.scenario == "fault-withhold-mapped") {
			// The first kexec, with the second memfd withheld, is refused
			// by the kernel itself.
			const auto *k = first_step(c, protocol::Op::kexec);
			REQUIRE(k);
			CHECK(k->err == "ENOENT");
			withheld++;
		}
		if (c.id.ends_with("/r:iommu,mem")) {
			// Retrieving the iommufd and its first memfd: FINISH waits
			// for the second.
			const auto *f = first_step(c, protocol::Op::finish);
			REQUIRE(f);
			CHECK(f->err == "EBUSY");
			waited++;
		}
	}
	CHECK(dma >= 3);
	CHECK(withheld == 2);
	CHECK(waited >= 1);
	CHECK(rep.exit_code == 0);
}

TEST_CASE("iommufd-restore-one-file passes one memfd and is caught with two", "[e2e][iommufd][knobs]")
{
	const auto &e = test::knob_expectation("iommufd-restore-one-file");
	auto rep = host::run_suite(e2e::knob_config(e, "knob-iommufd-restore-one-file"));
	for (const auto &m : e2e::knob_mismatches(e, rep))
		FAIL_CHECK(m);
	int one = 0, two = 0;
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		if (c.scenario == "iommufd-layers") {
			// Three IOAS, one memfd: today's richest iommufd cannot see it.
			CHECK(c.verdict == host::Verdict::pass);
			one++;
		} else if (c.verdict == host::Verdict::violation) {
			// The DMA through the second memfd's mappings missed it.
			REQUIRE(c.failed_step >= 0);
			const auto &s = c.steps.at(c.failed_step);
			INFO(s.detail);
			CHECK(s.detail.find(".mem2'") != std::string::npos);
			two++;
		}
	}
	CHECK(one > 0);
	CHECK(two == 3);
	CHECK(rep.exit_code == 1);
}
