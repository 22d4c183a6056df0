// SPDX-License-Identifier: GPL-2.0-only
//
// A contract other than the agreed one, proven end to end: the reference
// kernel, told by the contract's kernel block to look a VFIO device's
// iommufd, and an iommufd's mapped memfd, up at PRESERVE_FD, to hand
// devices back unbound and to restore no iommufd, passes every case of
// posted-2026; the same kernel
// without the lookup parameters breaks posted-2026's rule at the very step
// the rule is about, so the profile is not passing by accident.
#include <catch2/catch_test_macros.hpp>

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "e2e_support.hpp"
#include "host/run/contracts.hpp"

using namespace luo;

namespace {

const std::vector<std::string> kScenarios{"scenarios/deps/iommufd-vfio.json",
					   "scenarios/deps/iommufd-memfd-vfio.json",
					   "scenarios/faults/open-device.json"};

} // namespace

TEST_CASE("posted-2026 passes on a kernel that takes its parameter, and is broken without it",
	  "[e2e][contract]")
{
	auto cfg = e2e::config_for(kScenarios, "contract-posted-2026");
	cfg.contract = "posted-2026";
	auto rep = host::run_suite(cfg);
	CHECK(rep.summary.contract == "posted-2026");
	int refused_early = 0, refused_iommufd = 0;
	int unbound = 0, owned = 0, not_restored = 0, finish_never = 0, group_refused = 0;
	int memfd_back = 0;
	std::set<std::string> cases_refused;
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
		for (const auto &s : c.steps) {
			if (!s.executed)
				continue;
			if (s.op == protocol::Op::preserve && s.expect.rule == "S1" && s.err == "ENOENT") {
				refused_early++;
				refused_iommufd += s.object == "iommu";
				cases_refused.insert(c.id);
			}
			// P3, P9 and P10 as the guest saw them: devices back
			// unbound and owned by their preserved HWPT, so no bind
			// goes through; the iommufd not restored, and FINISH
			// refused for good; the memfd it mapped back all the same.
			unbound += s.op == protocol::Op::check_unbound && s.result == 0;
			owned += s.op == protocol::Op::bind_device && s.expect.rule == "P10" &&
				 s.err == "EPERM";
			not_restored += s.op == protocol::Op::retrieve && s.object == "iommu" &&
					s.expect.rule == "P9" && s.err == "EOPNOTSUPP";
			finish_never += s.op == protocol::Op::finish && s.expect.rule == "P9" &&
					s.err == "EBUSY";
			memfd_back += s.op == protocol::Op::verify && s.object == "mem" && s.result == 0;
			// No device is ever bound, so none is ever checked.
			CHECK_FALSE((s.op == protocol::Op::bind_device && s.result == 0));
			CHECK_FALSE((s.op == protocol::Op::verify && s.object == "vfio"));
			group_refused += s.op == protocol::Op::open_group && s.expect.rule == "D1" &&
					 s.err == "EBUSY";
		}
	}
	CHECK(unbound > 0);
	CHECK(owned > 0);
	CHECK(not_restored > 0);
	CHECK(finish_never > 0);
	CHECK(memfd_back > 0);
	CHECK(group_refused > 0);
	// The guest saw the kernel refuse devices preserved before their
	// iommufd, and iommufds before the memfd they map.
	CHECK(refused_early > refused_iommufd);
	CHECK(refused_iommufd > 0);
	CHECK(rep.exit_code == 0);

	// The same contract without its lookup parameters: the kernel looks
	// the iommufd up at freeze only, and accepts what posted-2026 refuses.
	// It still returns devices unbound and preserves marked HWPTs only,
	// so that only the lookup differs.
	auto text = nlohmann::ordered_json::parse(
		std::ifstream(host::contracts_dir() / "posted-2026.json"));
	text["kernel"]["cmdline"] =
		"vfio.luo_retrieve=unbound iommufd.luo_hwpt=token iommufd.luo_restore=none";
	text["kernel"]["confirms"] = {"vfio: Live Update returns devices unbound at RETRIEVE_FD",
				      "iommufd: Live Update preserves marked HWPTs only, sealed and "
				      "immutable",
				      "iommufd: Live Update restores no iommufd, and devices stay "
				      "owned by their preserved HWPT"};
	text["name"] = "posted-2026-untold";
	auto file = cfg.out_dir.parent_path() / "posted-2026-untold.json";
	std::ofstream(file) << text.dump(2);
	auto untold = e2e::config_for(kScenarios, "contract-posted-2026-untold");
	untold.contract = file.string();
	// A violation here can leave a device bound in a session the plan
	// believes empty; a later round of the same VM could not open it.
	// One round per VM keeps each case's verdict its own.
	untold.limits.max_rounds = 1;
	auto broken = host::run_suite(untold);
	// Exactly the cases the told kernel refused early are the ones the
	// untold one lets through, each at a preserve posted-2026 refuses (S1);
	// every other case passes.
	CHECK_FALSE(cases_refused.empty());
	REQUIRE(broken.cases.size() == rep.cases.size());
	for (const auto &c : broken.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		if (!cases_refused.count(c.id)) {
			CHECK(c.verdict == host::Verdict::pass);
			continue;
		}
		CHECK(c.verdict == host::Verdict::violation);
		REQUIRE(c.failed_step >= 0);
		const auto &s = c.steps[c.failed_step];
		CHECK(s.op == protocol::Op::preserve);
		CHECK(s.expect.rule == "S1");
		CHECK(s.result == 0);
	}
	CHECK(broken.exit_code == 1);
}
