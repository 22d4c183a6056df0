// SPDX-License-Identifier: GPL-2.0-only
//
// The checks on a restored object prove something only if they fail on a new
// object of the same kind.  fresh-object.json runs them, after each restored
// object passed, on a new memfd, VM, guest_memfd, iommufd and VFIO device open that
// the kernel makes on the spot: every one of those must fail, for a reason
// verify names, while the restored ones pass.
#include <catch2/catch_test_macros.hpp>

#include <map>

#include "e2e_support.hpp"

using namespace luo;

TEST_CASE("verify fails on a new object of every kind and passes on the restored one",
	  "[e2e][fresh]")
{
	auto cfg = e2e::config_for({"scenarios/faults/fresh-object.json"}, "fresh-objects");
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 2);
	std::map<std::string, int> refused;  // object -> new ones that failed
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
		bool crossed = false;
		for (const auto &s : c.steps) {
			crossed = crossed || s.op == protocol::Op::kexec;
			INFO(protocol::to_string(s.op) << " " << s.object << ": " << s.result << " " << s.detail);
			if (crossed && s.op == protocol::Op::verify) {
				CHECK(s.executed);
				CHECK(s.result == 0);
			}
			if (s.op != protocol::Op::verify_fresh)
				continue;
			CHECK(s.executed);
			CHECK(s.result < 0);
			CHECK(s.detail.find("fails the checks, as it must") != std::string::npos);
			// The vCPU read is a check of its own, and must fail by itself.
			if (s.object.find("gmem") != std::string::npos)
				CHECK(s.detail.find("and so does the vCPU read") != std::string::npos);
			refused[s.object.substr(s.object.find('.') + 1)]++;
		}
	}
	CHECK(refused == std::map<std::string, int>{{"gmem", 2}, {"iommu", 2}, {"mem", 2}, {"vfio", 2}, {"vm", 2}});
	CHECK(rep.exit_code == 0);
}
