// SPDX-License-Identifier: GPL-2.0-only
//
// A kind whose every PRESERVE_FD failed with ENOENT gets one line naming the
// likely cause, a kernel without its handler; anything less does not.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "core/contract.hpp"
#include "core/expand.hpp"
#include "core/scenario.hpp"
#include "host/run/handler_hint.hpp"

using namespace luo;
using Catch::Matchers::ContainsSubstring;

namespace {

// The cases of a scenario with a memfd, an iommufd and a device, as
// results whose preserves of `kind` all failed with ENOENT, or (ok_one) all
// but one.
struct Run {
	std::vector<core::Case> cases;
	std::vector<host::CaseResult> results;
};

Run ran(const std::string &failing_object, bool ok_one)
{
	Run r;
	r.cases = core::expand(core::parse_scenario(R"({"name": "h", "objects": {"io": "iommufd",
		"dev": "vfio-cdev", "x": "unsupported"}, "preserve": "all", "restore": [["io", "dev"]]})",
						    "t.json"),
			       core::Contract::agreed());
	bool spared = !ok_one;
	for (const auto &c : r.cases) {
		host::CaseResult res;
		res.id = c.id;
		for (const auto &s : c.steps) {
			host::StepResult sr;
			sr.op = s.op;
			sr.object = s.object;
			sr.expect = s.expect;
			sr.executed = true;
			if (s.op == protocol::Op::preserve && (s.object == failing_object || s.object == "x")) {
				if (s.object == "x" || spared) {
					sr.result = -2;
					sr.err = "ENOENT";
				}
				spared = true;
			}
			res.steps.push_back(sr);
		}
		r.results.push_back(res);
	}
	return r;
}

} // namespace

TEST_CASE("a kind whose every preserve failed with ENOENT is named, once", "[unit][report]")
{
	auto all = ran("dev", false);
	auto hints = host::missing_handler_hints(all.cases, all.results);
	REQUIRE(hints.size() == 1);
	CHECK_THAT(hints[0], ContainsSubstring("every PRESERVE_FD of a vfio-cdev that was to succeed "
					       "(6 in 6 cases) failed with ENOENT"));
	CHECK_THAT(hints[0], ContainsSubstring("register a Live Update handler for vfio-cdev"));

	// One preserve of the kind went through: a handler is there.
	auto one = ran("dev", true);
	CHECK(host::missing_handler_hints(one.cases, one.results).empty());

	// ENOENT the contract asked for (S1: the device before its iommufd)
	// is no sign of a missing handler.
	for (auto &r : all.results)
		for (auto &s : r.steps)
			if (s.op == protocol::Op::preserve && s.object == "dev")
				s.expect = {core::Expect::Kind::error, "ENOENT", "S1"};
	CHECK(host::missing_handler_hints(all.cases, all.results).empty());
}
