// SPDX-License-Identifier: GPL-2.0-only
//
// D1: in the new kernel a preserved VFIO device is LUO's until its file is
// retrieved or dropped by FINISH, and opening its cdev anew is refused.  The
// guest really opens /dev/vfio/devices/vfioN; with open-unguarded the kernel
// lets it, and the first open must be the violation.
#include <catch2/catch_test_macros.hpp>

#include <fstream>

#include "e2e_support.hpp"

using namespace luo;

namespace {

// The guest's answers to the case's open-device steps, in order: "ok" or the
// errno's name.
std::vector<std::string> opens(const host::CaseResult &c)
{
	std::vector<std::string> out;
	for (const auto &s : c.steps)
		if (s.op == protocol::Op::open_device && s.executed)
			out.push_back(s.result == 0 ? "ok" : protocol::errno_name(-s.result));
	return out;
}

} // namespace

TEST_CASE("a preserved device cdev is busy until it is retrieved or dropped and opens after",
	  "[e2e][open]")
{
	auto cfg = e2e::config_for({"scenarios/faults/open-device.json"}, "open-device");
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 5);
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
		// Before any retrieve, and once the device is the VMM's again.
		CHECK(opens(c) == std::vector<std::string>{"EBUSY", "ok"});
	}
	CHECK(rep.exit_code == 0);
}

TEST_CASE("open-unguarded is caught at the first open, as D1, and passes a contract that accepts it",
	  "[e2e][open][knobs]")
{
	const auto &e = test::knob_expectation("open-unguarded");
	auto cfg = e2e::knob_config(e, "open-unguarded");
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 5);
	for (const auto &m : e2e::knob_mismatches(e, rep))
		FAIL_CHECK(m);
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		REQUIRE(c.failed_step >= 0);
		// The open the kernel should have refused went through.
		CHECK(c.steps[c.failed_step].result == 0);
	}
	CHECK(rep.exit_code == 1);

	// A contract for a series that does not guard the node says so, and
	// the same kernel then passes: the field is what the oracle reads.
	auto file = cfg.out_dir.parent_path() / "open-accepted.json";
	std::ofstream(file) << R"({"kinds": {"vfio-cdev": {"open": {"before_retrieve": "accept"}}}})";
	auto accepted = e2e::config_for({"scenarios/faults/open-device.json"}, "open-accepted");
	accepted.fault = "open-unguarded";
	accepted.contract = file.string();
	auto ok = host::run_suite(accepted);
	for (const auto &c : ok.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
		CHECK(opens(c) == std::vector<std::string>{"ok", "ok"});
	}
	CHECK(ok.exit_code == 0);
}
