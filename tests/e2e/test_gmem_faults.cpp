// SPDX-License-Identifier: GPL-2.0-only
//
// Two guest_memfd handler bugs that fully written contents hide: folios put
// back at their list position instead of their file index, and folios
// collected at PRESERVE_FD instead of at freeze.  Sparse contents and pages
// written after PRESERVE_FD must catch each at the restored guest_memfd's
// verify in every case that retrieves it (tests/data/knobs.json), with the
// page that is wrong named, and in no other case.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "../knob_expectations.hpp"
#include "e2e_support.hpp"

using namespace luo;

TEST_CASE("folio-position and folios-at-preserve break every restored guest_memfd and nothing else",
	  "[e2e][knobs][gmem]")
{
	auto knob = GENERATE(std::string("folio-position"), std::string("folios-at-preserve"));
	const auto &e = test::knob_expectation(knob);
	auto cfg = e2e::config_for(e.scenarios, "gmem-" + knob);
	cfg.fault = knob;
	auto rep = host::run_suite(cfg);
	auto results = nlohmann::json::parse(
		std::ifstream(std::filesystem::path(rep.summary.run_dir) / "results.json"));
	for (const auto &m : test::knob_run_mismatches(e, results))
		FAIL_CHECK(m);
	for (const auto &c : rep.cases) {
		if (c.verdict != host::Verdict::violation)
			continue;
		INFO(knob << ": " << c.id << ": " << c.message);
		REQUIRE(c.failed_step >= 0);
		CHECK(c.steps[c.failed_step].detail.find("page ") != std::string::npos);
	}
	CHECK(rep.exit_code == 1);
}
