// SPDX-License-Identifier: GPL-2.0-only
//
// --inject fail-nth on the debug kernel: every armed Live Update call runs
// once per error path it reaches, and the reference series must come out of
// each with an errno, nothing changed, and a silent console.
#include <catch2/catch_test_macros.hpp>
#include <algorithm>
#include <map>

#include "e2e_support.hpp"
#include "host/kernel/kernel_build.hpp"
#include "host/run/inject_report.hpp"

using namespace luo;

namespace {

// Small (ci/test): for each of the two dependency edges, the case that
// discards everything at FINISH (r:-) and the one that retrieves the
// dependent first, so FINISH is refused once and then goes through with
// both retrieved: every armed op, and both FINISH outcomes, on both edges.
// Full (ci/full): every case of the dependency scenarios but all-four's
// 1,560 (its edges are these, in longer chains).
const std::vector<std::string> kSmall{"kvm-gmem/p:vm,gmem/r:-", "kvm-gmem/p:vm,gmem/r:gmem",
				      "iommufd-vfio/p:iommu,vfio/r:-",
				      "iommufd-vfio/p:iommu,vfio/r:vfio"};

std::vector<std::string> scenarios()
{
	if (!e2e::full_size())
		return {"scenarios/deps/kvm-gmem.json", "scenarios/deps/iommufd-vfio.json"};
	std::vector<std::string> out;
	for (const auto &e :
	     std::filesystem::directory_iterator(host::source_root() / "scenarios/deps"))
		if (e.path().extension() == ".json" && e.path().stem() != "all-four")
			out.push_back(std::filesystem::relative(e.path(), host::source_root()).string());
	std::sort(out.begin(), out.end());
	return out;
}

} // namespace

TEST_CASE("every error path of the Live Update calls returns an errno and changes nothing",
	  "[e2e][debug][inject][sized]")
{
	auto cfg = e2e::config_for(scenarios(), "fail-nth");
	cfg.kernel.flavour = "debug";
	cfg.inject = "fail-nth";
	if (!e2e::full_size())
		cfg.cases = kSmall;
	auto rep = host::run_suite(cfg);
	CHECK(rep.summary.inject == "fail-nth");
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message << "\n"
			  << c.diagnostic);
		CHECK(c.verdict == host::Verdict::pass);
	}
	CHECK(rep.exit_code == 0);

	// The arming took: every op the mode covers that these cases run
	// reached error paths in the kernel, as the guest counted them.
	auto totals = host::inject_totals(rep.cases);
	for (const char *op : {"session-create", "preserve", "kexec", "session-retrieve", "retrieve"}) {
		INFO(op << ": " << host::inject_summary(rep.cases));
		REQUIRE(totals.count(op));
		CHECK(totals[op].paths > 0);
	}
	// Counted in the kernel, not by the rig: each event's count is the
	// number of failures fail-nth injected before the call got through,
	// and a FAULT_INJECTION notice on the console stands for each one.
	long notices = 0;
	for (const auto &e : std::filesystem::recursive_directory_iterator(rep.summary.run_dir)) {
		if (e.path().filename() != "console.log")
			continue;
		std::ifstream in(e.path());
		for (std::string line; std::getline(in, line);)
			notices += line.find("FAULT_INJECTION: forcing a failure") != std::string::npos;
	}
	CHECK(notices > 0);
}

TEST_CASE("a retrieve error path that loses its errno is caught by the walk on copies alone",
	  "[e2e][debug][inject][knobs]")
{
	// The knob's run as tests/data/knobs.json has it: fail-nth with the
	// retrieve walked on copies, a KASAN report at the retrieve.
	e2e::check_knob_run("gmem-retrieve-loses-err", "knob-gmem-retrieve-loses-err");

	// The same case under fail-nth with RETRIEVE_FD unarmed, as the mode
	// was before the walk: no allocation in the retrieve fails, so the
	// broken path never runs and the case passes.
	const auto &e = test::knob_expectation("gmem-retrieve-loses-err");
	auto cfg = e2e::knob_config(e, "knob-gmem-retrieve-loses-err-unarmed");
	cfg.retrieve_copies = 0;
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 1);
	INFO(rep.cases[0].message);
	CHECK(rep.cases[0].verdict == host::Verdict::pass);
	CHECK(host::inject_totals(rep.cases).count("retrieve") == 0);
}

TEST_CASE("fail-nth on a kernel without fault injection stops the guest: setup, never green",
	  "[e2e][inject]")
{
	// A prebuilt --kernel says nothing of its config before it boots, so
	// the host lets it through; the mock VMM finds no fail-nth and gives
	// up before any step.  Were that silence a plain run, every case
	// would pass with no error path tried.
	auto image = host::obtain_kernel({}).image;
	auto cfg = e2e::config_for({"scenarios/deps/kvm-gmem.json"}, "fail-nth-no-injection");
	cfg.kernel.kernel = image;
	cfg.inject = "fail-nth";
	cfg.cases = {"kvm-gmem/p:vm,gmem/r:gmem"};
	auto rep = host::run_suite(cfg);
	e2e::check_refused_as_setup(rep, "CONFIG_FAULT_INJECTION");
	// The guest said so before its first step, once, and did nothing else.
	int fatal = 0, steps = 0;
	for (const auto &ev : e2e::events_of(rep.summary.run_dir)) {
		fatal += ev.type == protocol::EventType::fatal;
		steps += ev.type == protocol::EventType::step;
	}
	CHECK(fatal == 1);
	CHECK(steps == 0);
}
