// SPDX-License-Identifier: GPL-2.0-only
//
// The debug flavour turns bugs that change no ioctl outcome into verdicts:
// a clean series stays green under it, and each debug-only knob is a crash
// there while the default kernel cannot see it.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <algorithm>

#include "e2e_support.hpp"

using namespace luo;

namespace {

// Both knobs are hit by every kexec that freezes a dependency (lookup) and
// every FINISH that discards a file (leak); two small scenarios suffice.
const std::vector<std::string> kBothEdges{"scenarios/deps/kvm-gmem.json",
					  "scenarios/deps/iommufd-vfio.json"};

// The debug kernel's cases: full size (ci/full), every dependency and fault
// scenario but the 1,560 cases of all-four (307 cases).  Small (ci/test):
// the fault scenarios, where the error paths are (sessions closed early,
// kexec again, devices opened anew: 55 cases), and both two-object
// dependency scenarios (20 cases).  It leaves out the same two edges in
// longer chains and across sessions, and retry-kexec: its six refused
// kexecs fill a VM of their own (150 s of the 260 s the full fault set
// took), and fail-nth's small run already unwinds a refused freeze under
// this kernel, one injected failure at a time.
bool in_debug_clean(const std::filesystem::path &file)
{
	if (file.stem() == "all-four")
		return false;
	if (e2e::full_size())
		return true;
	if (file.parent_path().filename() == "faults")
		return file.stem() != "retry-kexec";
	return file.stem() == "kvm-gmem" || file.stem() == "iommufd-vfio";
}

} // namespace

TEST_CASE("the reference series is clean under the debug kernel", "[e2e][debug][sized]")
{
	std::vector<std::string> files;
	for (const auto *dir : {"scenarios/deps", "scenarios/faults"})
		for (const auto &e : std::filesystem::directory_iterator(host::source_root() / dir))
			if (e.path().extension() == ".json" && in_debug_clean(e.path()))
				files.push_back(std::filesystem::relative(e.path(), host::source_root()).string());
	std::sort(files.begin(), files.end());
	auto cfg = e2e::config_for(files, "debug-clean");
	cfg.kernel.flavour = "debug";
	auto rep = host::run_suite(cfg);
	CHECK(rep.summary.kernel_flavour == "debug");
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message << "\n"
			  << c.diagnostic);
		CHECK(c.verdict == host::Verdict::pass);
	}
	CHECK(rep.exit_code == 0);
}

TEST_CASE("debug-only knobs are crashes under the debug kernel and invisible without it",
	  "[e2e][debug]")
{
	// The cases each knob must crash, as an id prefix ("" for all): the
	// lookup runs at every kexec that freezes a dependency, in both
	// scenarios; the leaked discard is caught only in iommufd-vfio, whose
	// VM is its own, while kvm-gmem's VM (its batch of 10, and each case
	// alone) stays green.
	auto [knob, kind, crashed] = GENERATE(table<std::string, std::string, std::string>({
		{"leak-on-discard", "kmemleak", "iommufd-vfio/"},
		{"lookup-unlocked", "WARNING", ""},
	}));
	// Both edges at every size: kvm-gmem alone could not fail the leak.
	const std::vector<std::string> &kScenarios = kBothEdges;
	auto plain = e2e::config_for(kScenarios, "default-" + knob);
	plain.fault = knob;
	auto missed = host::run_suite(plain);
	for (const auto &c : missed.cases) {
		INFO(knob << " (default flavour): " << c.id << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
	}

	auto cfg = e2e::config_for(kScenarios, "debug-" + knob);
	cfg.kernel.flavour = "debug";
	cfg.fault = knob;
	// Where the knob bites, every case of that VM shows its splat, so
	// bisection would only boot one debug VM per case to say so again.
	cfg.bisect = false;
	// One VM per scenario, side by side: a debug VM's time is mostly its
	// two boots and leak scans, not its cases.
	cfg.limits.max_cases = 10;
	cfg.limits.max_rounds = 1;
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 20);
	for (const auto &c : rep.cases) {
		INFO(knob << " (debug flavour): " << c.id << ": " << host::to_string(c.verdict) << ": "
			  << c.message);
		if (c.id.rfind(crashed, 0) != 0) {
			CHECK(c.verdict == host::Verdict::pass);
			continue;
		}
		CHECK(c.verdict == host::Verdict::crash);
		CHECK_FALSE(c.diagnostic.empty());
		CHECK(c.message.find(kind == "kmemleak" ? "\"memory leak in " : kind) !=
		      std::string::npos);
	}
	CHECK(rep.exit_code == 1);
}
