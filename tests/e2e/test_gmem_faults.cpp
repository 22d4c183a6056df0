// SPDX-License-Identifier: GPL-2.0-only
//
// Two guest_memfd handler bugs that fully written contents hide: folios put
// back at their list position instead of their file index, and folios
// collected at PRESERVE_FD instead of at freeze.  Sparse contents and pages
// written after PRESERVE_FD must catch each at the restored object's verify,
// with the page that is wrong named.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "e2e_support.hpp"

using namespace luo;

TEST_CASE("folio-position and folios-at-preserve are caught at the restored guest_memfd",
	  "[e2e][knobs][gmem]")
{
	auto knob = GENERATE(std::string("folio-position"), std::string("folios-at-preserve"));
	auto cfg = e2e::config_for({"scenarios/deps/kvm-gmem.json"}, "gmem-" + knob);
	cfg.fault = knob;
	auto rep = host::run_suite(cfg);
	int violations = 0;
	for (const auto &c : rep.cases) {
		INFO(knob << ": " << c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK((c.verdict == host::Verdict::pass || c.verdict == host::Verdict::violation));
		if (c.verdict != host::Verdict::violation) {
			// A case passes only if it never checks a restored guest_memfd.
			bool after_kexec = false;
			for (const auto &s : c.steps) {
				after_kexec = after_kexec || s.op == protocol::Op::kexec;
				CHECK_FALSE((after_kexec && s.op == protocol::Op::verify &&
					     s.object.find("gmem") != std::string::npos));
			}
			continue;
		}
		violations++;
		REQUIRE(c.failed_step >= 0);
		const auto &s = c.steps[c.failed_step];
		CHECK(s.op == protocol::Op::verify);
		CHECK(s.object.find("gmem") != std::string::npos);
		CHECK(s.expect.rule == "C3");
		CHECK(s.detail.find("page ") != std::string::npos);
	}
	CHECK(violations > 0);
	CHECK(rep.exit_code == 1);
}
