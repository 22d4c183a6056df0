// SPDX-License-Identifier: GPL-2.0-only
//
// The default kernel's own LUO selftests, run by the rig in one VM and one
// kexec, judged from what the guest really reported.
#include <catch2/catch_test_macros.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "e2e_support.hpp"
#include "host/util/atomic_file.hpp"

using namespace luo;

namespace {

// Verdicts as results.json has them, not as the run returned them.
nlohmann::json results_of(const host::RunReport &rep)
{
	return nlohmann::json::parse(
		host::read_file(std::filesystem::path(rep.summary.run_dir) / "results.json"));
}

std::map<std::string, std::string> verdicts_of(const nlohmann::json &doc)
{
	std::map<std::string, std::string> verdict;
	for (const auto &c : doc["cases"])
		verdict[c["id"].get<std::string>()] = c["verdict"].get<std::string>();
	return verdict;
}

} // namespace

TEST_CASE("the kernel tree's LUO selftests pass across one kexec", "[e2e][selftests]")
{
	auto cfg = e2e::config_for({}, "selftests");
	cfg.selftests_only = true;
	auto rep = host::run_suite(cfg);
	CHECK(rep.exit_code == 0);

	auto doc = results_of(rep);
	auto verdict = verdicts_of(doc);
	const char *upstream[] = {"liveupdate", "luo_kexec_simple", "luo_multi_session",
				  "luo_stress_files", "luo_stress_sessions"};
	CHECK(verdict.size() == 5);
	for (const char *name : upstream) {
		INFO(name);
		CHECK(verdict["selftests/" + std::string(name)] == "pass");
	}
	// All of them share one VM: one boot, one kexec.
	CHECK(doc["summary"]["vms"] == 1);
	CHECK(doc["summary"]["boots"] == 2);

	// Each program ran in the stages it asks for, in the kernel it needs.
	std::map<std::string, std::map<std::uint32_t, protocol::Event>> ran;
	for (const auto &ev : e2e::events_of(rep.summary.run_dir))
		if (ev.type == protocol::EventType::selftest)
			ran[ev.selftest][ev.stage] = ev;
	REQUIRE(ran["liveupdate"].count(0));
	CHECK(ran["liveupdate"][0].boot == 0);
	CHECK(ran["liveupdate"][0].detail.find("# PASSED:") != std::string::npos);
	for (const char *name : upstream) {
		if (std::string(name) == "liveupdate")
			continue;
		INFO(name);
		REQUIRE(ran[name].count(1));
		REQUIRE(ran[name].count(2));
		CHECK(ran[name][1].boot == 0);
		CHECK(ran[name][2].boot == 1);
		CHECK(ran[name][1].exit_code == 0);
		CHECK(ran[name][2].exit_code == 0);
		CHECK(ran[name][2].detail.find("PASSED") != std::string::npos);
	}
}

// A series that adds a VFIO Live Update selftest: the rig builds it from
// the patched tree with the VFIO directory's own Makefile, gives it the edu
// device bound to vfio-pci in both kernels, and judges what it printed.
// The test program (tests/data/series/vfio-device-selftest) fails unless it
// finds that device in each kernel.  Its patch touches only tools/, so the
// kernel is the default one rebuilt incrementally.
TEST_CASE("a series' VFIO selftest gets the edu device on both sides of the kexec",
	  "[e2e][selftests]")
{
	auto cfg = e2e::config_for({}, "selftests-vfio");
	cfg.selftests_only = true;
	cfg.kernel.patch_dirs = {host::source_root() / "tests/data/series/vfio-device-selftest"};
	auto rep = host::run_suite(cfg);
	CHECK(rep.exit_code == 0);

	auto doc = results_of(rep);
	auto verdict = verdicts_of(doc);
	CHECK(verdict["selftests/vfio_pci_liveupdate_device_test"] == "pass");
	// The tree's own five still run beside it, in the same VM.
	CHECK(verdict.size() == 6);
	CHECK(doc["summary"]["vms"] == 1);

	std::map<std::uint32_t, protocol::Event> ran;
	for (const auto &ev : e2e::events_of(rep.summary.run_dir))
		if (ev.type == protocol::EventType::selftest &&
		    ev.selftest == "vfio_pci_liveupdate_device_test")
			ran[ev.stage] = ev;
	REQUIRE(ran.count(1));
	REQUIRE(ran.count(2));
	CHECK(ran[1].boot == 0);
	CHECK(ran[2].boot == 1);
	// The program names the device it set up, in each kernel.
	CHECK(ran[1].detail.find("before kexec: 0000:00:02.0 set up through iommufd") !=
	      std::string::npos);
	CHECK(ran[2].detail.find("after kexec: 0000:00:02.0 set up through iommufd") !=
	      std::string::npos);
}
