// SPDX-License-Identifier: GPL-2.0-only
//
// The standalone reproducer of a knob's case, built and booted as /init of
// the rig's VM (no mock VMM in the image), fails at the same step as the
// rig's own run of that case; without the knob it passes.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>

#include "e2e_support.hpp"
#include "host/cmd/reproducer.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/paths.hpp"

using namespace luo;
namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;

namespace {

constexpr const char *kKvmGmem = "kvm-gmem/p:vm,gmem/r:gmem";

host::ReproConfig repro_config(const std::string &id, const std::string &scenario,
			       const std::string &knob)
{
	host::ReproConfig cfg;
	cfg.id = id;
	cfg.run.scenarios = {(host::source_root() / scenario).string()};
	cfg.run.fault = knob;
	return cfg;
}

// An empty directory under e2e-runs/, for a test that writes its own
// scenario beside its reproducers.
fs::path fresh_run_dir(const std::string &name)
{
	fs::path dir = fs::path(LUO_RIG_BINARY_DIR) / "e2e-runs" / name;
	fs::remove_all(dir);
	fs::create_directories(dir);
	return dir;
}

} // namespace

TEST_CASE("a knob's reproducer fails outside the rig at the rig's own wrong step",
	  "[e2e][reproducer]")
{
	auto [knob, id, scenario] = GENERATE(table<std::string, std::string, std::string>({
		{"drop-contents", "kvm-gmem/p:vm,gmem/r:gmem", "scenarios/deps/kvm-gmem.json"},
		{"unbound-restore", "kvm-gmem/p:vm,gmem/r:gmem", "scenarios/deps/kvm-gmem.json"},
		{"finish-ignores-deps", "kvm-gmem/p:vm,gmem/r:gmem", "scenarios/deps/kvm-gmem.json"},
		{"internal-is-explicit", "kvm-gmem/p:vm,gmem/r:gmem", "scenarios/deps/kvm-gmem.json"},
		{"preserve-lookup", "kvm-gmem/p:gmem,vm/r:-", "scenarios/deps/kvm-gmem.json"},
		{"freeze-ignores-deps", "fault-retry-kexec/p:vm,gmem,mem/r:vm,gmem,mem",
		 "scenarios/faults/retry-kexec.json"},
		// An iommufd that maps two memfds, the second withheld.
		{"freeze-ignores-deps", "fault-withhold-mapped/p:mem,mem2,iommu/r:iommu,mem,mem2",
		 "scenarios/faults/withhold-mapped.json"},
		// Found only by a vCPU: repro.c carries the rig's guest program.
		{"gmem-stays-frozen", "kvm-gmem/p:vm,gmem/r:vm,gmem", "scenarios/deps/kvm-gmem.json"},
	}));
	INFO(knob << ": " << id);
	// A knob may come twice, on cases of different scenarios.
	const std::string tag = knob + "-" + fs::path(scenario).stem().string();

	// What the rig itself says of the case under the knob.
	auto run = e2e::config_for({scenario}, "reproducer-rig-" + tag);
	run.cases = {id};
	run.fault = knob;
	auto rep = host::run_suite(run);
	REQUIRE(rep.cases.size() == 1);
	REQUIRE(rep.cases[0].verdict == host::Verdict::violation);
	int step = rep.cases[0].failed_step + 1;
	const auto &wrong = rep.cases[0].steps[rep.cases[0].failed_step];

	fs::path dir = fs::path(LUO_RIG_BINARY_DIR) / "e2e-runs" / ("reproducer-" + tag);
	fs::remove_all(dir);
	host::write_reproducer(repro_config(id, scenario, knob), dir);
	auto out = host::boot_reproducer(dir, {}, "auto", knob, false);
	INFO(out.console);
	// No mock VMM in that image: the reproducer ran as /init, both stages.
	CHECK_THAT(out.console, ContainsSubstring("repro: " + id + ", stage 2"));
	CHECK(out.failed);
	CHECK(out.crash.empty());
	CHECK_THAT(out.result, ContainsSubstring("FAIL at step " + std::to_string(step) + " " +
						 protocol::to_string(wrong.op)));
	CHECK_THAT(out.result, ContainsSubstring("[" + wrong.expect.rule + "]"));
}

// An iommufd with three IOAS, without the VFIO device the reproducer cannot
// make: with ioas-maps-first the restored context maps every range into
// IOAS 1, which only a check of the later IOAS sees.  The reproducer maps
// and checks each range where the mock VMM does, so it fails at the rig's
// own step; without the knob it passes.
TEST_CASE("a reproducer of an iommufd with several IOAS checks each of them",
	  "[e2e][reproducer]")
{
	const fs::path dir = fresh_run_dir("reproducer-layers");
	const fs::path scenario = dir / "layers.json";
	host::write_file_atomic(scenario, R"({"name": "layers",
  "objects": {"mem": "memfd", "iommu": {"kind": "iommufd", "depends_on": "mem", "ioas": 3}},
  "preserve": [["mem", "iommu"]], "restore": [["mem", "iommu"]]})");
	const std::string id = "layers/p:mem,iommu/r:mem,iommu";
	const std::string knob = "ioas-maps-first";

	auto run = e2e::config_for({scenario.string()}, "reproducer-rig-layers");
	run.cases = {id};
	run.fault = knob;
	auto rep = host::run_suite(run);
	REQUIRE(rep.cases.size() == 1);
	REQUIRE(rep.cases[0].verdict == host::Verdict::violation);
	const auto &wrong = rep.cases[0].steps[rep.cases[0].failed_step];
	REQUIRE(wrong.object == "iommu");

	host::ReproConfig cfg;
	cfg.id = id;
	cfg.run.scenarios = {scenario.string()};
	for (const std::string &k : {knob, std::string()}) {
		cfg.run.fault = k;
		fs::path out_dir = dir / (k.empty() ? "clean" : k);
		host::write_reproducer(cfg, out_dir);
		auto out = host::boot_reproducer(out_dir, {}, "auto", k, false);
		INFO((k.empty() ? "no knob" : k) << ": " << out.result << "\n" << out.console);
		CHECK(out.crash.empty());
		if (k.empty()) {
			CHECK(out.passed);
			continue;
		}
		CHECK(out.failed);
		CHECK_THAT(out.result,
			   ContainsSubstring("FAIL at step " + std::to_string(rep.cases[0].failed_step + 1) +
					     " " + protocol::to_string(wrong.op)));
		// The first range a later IOAS lost, named as the VMM names it.
		CHECK_THAT(out.console, ContainsSubstring("iommu: IOAS 2 no longer maps mem "));
	}
}

TEST_CASE("a reproducer passes on a kernel without the bug", "[e2e][reproducer]")
{
	// The check of the test above has teeth only if the same reproducer can
	// pass: the same case, no knob.
	fs::path dir = fs::path(LUO_RIG_BINARY_DIR) / "e2e-runs" / "reproducer-clean";
	fs::remove_all(dir);
	host::write_reproducer(repro_config(kKvmGmem, "scenarios/deps/kvm-gmem.json", ""), dir);
	auto out = host::boot_reproducer(dir, {}, "auto", "", false);
	INFO(out.console);
	CHECK(out.passed);
	CHECK_FALSE(out.failed);
	CHECK(out.crash.empty());
}

TEST_CASE("a reproducer armed with fail-nth fails its step's call once, and the case goes on",
	  "[e2e][reproducer][inject][debug]")
{
	// The kexec with the first allocation of its freeze failed, as
	// `--inject fail-nth` walks it: the kernel must say the failure was
	// injected (fail-nth read back as 0), the reboot must come back with
	// an errno, and the kexec again, unarmed, must carry the case on to a
	// pass in the next kernel.
	auto cfg = repro_config(kKvmGmem, "scenarios/deps/kvm-gmem.json", "");
	auto c = host::resolve_case(cfg.run, cfg.id);
	int step = 0;
	for (size_t i = 0; i < c.steps.size() && !step; i++)
		if (c.steps[i].op == protocol::Op::kexec)
			step = (int)i + 1;
	REQUIRE(step > 0);

	fs::path dir = fs::path(LUO_RIG_BINARY_DIR) / "e2e-runs" / "reproducer-fail-nth";
	fs::remove_all(dir);
	host::write_reproducer(cfg, dir, std::to_string(step) + ":1");
	host::KernelOptions debug;
	debug.flavour = "debug";
	auto out = host::boot_reproducer(dir, debug, "auto", "", false);
	INFO(out.console);
	std::string line = "repro: step " + std::to_string(step) + " kexec: ";
	auto at = out.console.find(line);
	REQUIRE(at != std::string::npos);
	std::string first = out.console.substr(at, out.console.find('\n', at) - at);
	CHECK_THAT(first, ContainsSubstring("(fail-nth injected; the step again, unarmed:)"));
	CHECK_THAT(first, !ContainsSubstring("observed ok"));
	// The kexec that went through was the unarmed one, and the next
	// kernel says so.
	auto again = out.console.find(line, at + 1);
	REQUIRE(again != std::string::npos);
	std::string second = out.console.substr(again, out.console.find('\n', again) - again);
	CHECK_THAT(second, ContainsSubstring("observed ok (now in stage 2)"));
	CHECK_THAT(out.console, !ContainsSubstring("the armed kexec went through"));
	CHECK(out.passed);
	CHECK(out.crash.empty());
}

// Finding 1 of the reference series, outside the rig: helper threads of
// the reproducer allocate and destroy IOAS while the freeze walks the
// iommufd.  With iommufd-walk-unheld (the walk's read a few milliseconds
// before it holds the object) the debug kernel's KASAN names the walk, as
// in the rig's own race run; without it, the case passes with the calls
// raced.
TEST_CASE("a racing reproducer hits the unheld iommufd walk, and passes without it",
	  "[e2e][reproducer][race][debug]")
{
	const fs::path dir = fresh_run_dir("reproducer-race");
	const fs::path scenario = dir / "race-iommufd.json";
	host::write_file_atomic(scenario, R"({"name": "race-iommufd",
  "objects": {"mem": "memfd", "iommu": {"kind": "iommufd", "depends_on": "mem"}},
  "preserve": [["mem", "iommu"]], "restore": [["mem", "iommu"]]})");
	host::ReproConfig cfg;
	cfg.id = "race-iommufd/p:mem,iommu/r:mem,iommu";
	cfg.run.scenarios = {scenario.string()};
	host::KernelOptions debug;
	debug.flavour = "debug";
	for (const std::string knob : {"iommufd-walk-unheld", ""}) {
		cfg.run.fault = knob;
		fs::path out_dir = dir / (knob.empty() ? "clean" : knob);
		host::write_reproducer(cfg, out_dir, "", true);
		// Two vCPUs: with one, a racer runs only between the walk's
		// time slices.
		auto out = host::boot_reproducer(out_dir, debug, "auto", knob, false, 2);
		INFO(knob << ": " << out.result << " (boots lost and run again: "
			  << out.infra_retried << ")\n" << out.console);
		CHECK_THAT(out.console, ContainsSubstring("the racers made "));
		if (knob.empty()) {
			CHECK(out.passed);
			CHECK(out.crash.empty());
		} else {
			CHECK_THAT(out.crash, ContainsSubstring("KASAN: slab-use-after-free Read in "
								"iommufd_luo_record"));
		}
	}
}
