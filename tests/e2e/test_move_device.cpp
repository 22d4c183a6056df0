// SPDX-License-Identifier: GPL-2.0-only
//
// A VMM that moves a preserved VFIO device to a page table it did not mark
// (scenarios/faults/move-device.json), then closes the session: the
// unpreserve must undo what the preserve did whatever the device is
// attached to by then.  Under posted-2026 (P8) the moved device is refused
// when preserved again; under agreed it crosses and is checked.  The
// posted series reads the attachment again at unpreserve and warns; the
// vfio-unpreserve-attached knob (patch 0038) makes the reference handler do
// the same, and only this scenario catches it.
#include <catch2/catch_test_macros.hpp>

#include "e2e_support.hpp"

using namespace luo;

namespace {

const char *kMove = "scenarios/faults/move-device.json";

// The one case of the scenario, run under `contract`, with every step the
// guest ran.
host::CaseResult moved_case(const std::string &contract, const std::string &tag)
{
	auto cfg = e2e::config_for({kMove}, tag);
	cfg.contract = contract;
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 1);
	const auto &c = rep.cases[0];
	INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
	CHECK(c.verdict == host::Verdict::pass);
	CHECK(rep.exit_code == 0);
	return c;
}

} // namespace

TEST_CASE("a device moved after its preserve: posted-2026 refuses it again, agreed carries it",
	  "[e2e][vfio][iommufd]")
{
	auto posted = moved_case("posted-2026", "move-device-posted");
	std::vector<std::string> device;
	for (const auto &s : posted.steps)
		if (s.executed && s.object == "vfio" &&
		    (s.op == protocol::Op::preserve || s.op == protocol::Op::move_device ||
		     s.op == protocol::Op::retrieve))
			device.push_back(std::string(protocol::to_string(s.op)) + "=" +
					 (s.result < 0 ? s.err : "ok") + ":" + s.expect.rule);
	// Probed on an unmarked HWPT and preserved; moved; refused on the
	// unmarked one after the close; so not in the next kernel.
	CHECK(device == std::vector<std::string>{"preserve=ok:P8", "move-device=ok:LUO",
						 "preserve=EINVAL:P8", "retrieve=ENOENT:C7"});

	auto agreed = moved_case("agreed", "move-device-agreed");
	int preserved = 0, verified = 0;
	for (const auto &s : agreed.steps) {
		preserved += s.op == protocol::Op::preserve && s.object == "vfio" && s.result == 0;
		verified += s.op == protocol::Op::verify && s.object == "vfio" && s.result == 0;
	}
	CHECK(preserved == 2);
	CHECK(verified >= 1);
}

TEST_CASE("vfio-unpreserve-attached warns at the close after a move, and no other case moves a device",
	  "[e2e][knobs][vfio][iommufd]")
{
	e2e::check_knob_run("vfio-unpreserve-attached", "posted-vfio-unpreserve-attached");

	// The VFIO scenarios of the suite before move-device, the knob armed:
	// no case unpreserves a device off its marked HWPT, so all pass.
	auto cfg = e2e::config_for({"scenarios/deps/iommufd-vfio.json",
				    "scenarios/deps/iommufd-memfd-vfio.json"},
				   "unmoved-vfio-unpreserve-attached");
	cfg.contract = "posted-2026";
	cfg.fault = "vfio-unpreserve-attached";
	e2e::check_all_pass(host::run_suite(cfg), 106);
}
