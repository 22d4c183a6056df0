// SPDX-License-Identifier: GPL-2.0-only
//
// Fault knobs are read from the kernel image and confirmed on its console.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <set>

#include <unistd.h>

#include "../knob_expectations.hpp"
#include "core/contract.hpp"
#include "core/expand.hpp"
#include "host/run/contracts.hpp"
#include "host/kernel/fault_knobs.hpp"
#include "host/run/run.hpp"
#include "host/run/suite.hpp"
#include "host/util/paths.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"

using namespace luo;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

// A minimal bzImage: one setup sector with the boot header, then an
// xz-compressed "vmlinux" that holds `rodata`.
fs::path fake_bzimage(const fs::path &dir, const std::string &rodata)
{
	fs::create_directories(dir);
	std::string vmlinux(4096, '\x90');
	vmlinux += rodata;
	vmlinux += std::string("\0tail", 5);
	{
		std::ofstream(dir / "vmlinux", std::ios::binary) << vmlinux;
	}
	std::string cmd = "xz --check=crc32 -c " + (dir / "vmlinux").string() + " > " +
			  (dir / "payload.xz").string();
	REQUIRE(std::system(cmd.c_str()) == 0);
	std::string payload = host::read_file(dir / "payload.xz");
	std::string img(2 * 512, '\0');
	img[0x1f1] = 1;                       // setup_sects
	img.replace(0x202, 4, "HdrS");
	auto put32 = [&](size_t at, std::uint32_t v) {
		for (int i = 0; i < 4; i++)
			img[at + i] = (char)(v >> (8 * i));
	};
	put32(0x248, 16);                     // payload_offset past the pm code start
	put32(0x24c, payload.size());
	img += std::string(16, '\0') + payload;
	auto path = dir / "bzImage";
	std::ofstream(path, std::ios::binary) << img;
	return path;
}

} // namespace

TEST_CASE("fault lists given to --fault are parsed strictly", "[unit][knobs]")
{
	CHECK(host::parse_fault_list("").empty());
	CHECK(host::parse_fault_list("a,b-c") == std::vector<std::string>{"a", "b-c"});
	CHECK_THROWS_AS(host::parse_fault_list("a,,b"), host::SetupError);
	CHECK_THROWS_AS(host::parse_fault_list("a, b"), host::SetupError);
	CHECK_THROWS_AS(host::parse_fault_list("a,a"), host::SetupError);
	CHECK(host::fault_cmdline({"a", "b"}) == "luo_fault=a,b");
}

TEST_CASE("the knob catalogue comes from the kernel image", "[unit][knobs]")
{
	auto dir = fs::temp_directory_path() / ("luo-knobs-" + std::to_string(getpid()));
	auto img = fake_bzimage(dir, std::string("luo_fault_knobs=preserve-lookup,drop-contents\0", 46));
	auto known = host::knob_catalogue(host::bzimage_payload(img));
	REQUIRE(known);
	CHECK(*known == std::vector<std::string>{"preserve-lookup", "drop-contents"});
	CHECK_NOTHROW(host::check_fault_knobs(img, {"drop-contents"}));
	try {
		host::check_fault_knobs(img, {"no-such-knob"});
		FAIL("an unknown knob was accepted");
	} catch (const host::SetupError &e) {
		CHECK_THAT(e.what(), ContainsSubstring("no-such-knob"));
		CHECK_THAT(e.what(), ContainsSubstring("preserve-lookup, drop-contents"));
	}

	auto bare = fake_bzimage(dir / "bare", "no knobs here");
	CHECK_FALSE(host::knob_catalogue(host::bzimage_payload(bare)));
	CHECK_THROWS_WITH(host::check_fault_knobs(bare, {"x"}), ContainsSubstring("has no fault knobs"));
	CHECK_NOTHROW(host::check_fault_knobs(bare, {}));

	std::ofstream(dir / "junk") << "not a kernel";
	CHECK_THROWS_WITH(host::bzimage_payload(dir / "junk"), ContainsSubstring("not an x86 bzImage"));
	fs::remove_all(dir);
}

TEST_CASE("every boot must arm every knob", "[unit][knobs]")
{
	std::string one = "[0.1] luo_fault: armed drop-contents\n[0.2] luo_fault: armed drop\n";
	CHECK(host::unconfirmed_knobs(one, {"drop-contents", "drop"}, 1).empty());
	CHECK(host::unconfirmed_knobs(one, {"drop-contents"}, 2) ==
	      std::vector<std::string>{"drop-contents"});
	CHECK(host::unconfirmed_knobs("luo_fault: armed drop-contents\n", {"drop"}, 1) ==
	      std::vector<std::string>{"drop"});
}

TEST_CASE("a knob the kernel refused in its mode is not armed, and the kernel's reason is said",
	  "[unit][knobs]")
{
	// Built in: the handler refuses before the "armed" report, which then
	// leaves the knob out.
	std::string builtin = "[1.0] luo_fault: refused finish-unbound: needs vfio.luo_retrieve=unbound\r\n"
			      "[2.0] luo_fault: armed drop-contents\r\n";
	CHECK(host::knob_refusal(builtin, "finish-unbound") == "needs vfio.luo_retrieve=unbound");
	CHECK_FALSE(host::knob_refusal(builtin, "drop-contents"));
	CHECK_FALSE(host::knob_refusal(builtin, "unbound"));
	CHECK(host::unconfirmed_knobs(builtin, {"drop-contents", "finish-unbound"}, 1) ==
	      std::vector<std::string>{"finish-unbound"});
	// A module refuses after the report: the "armed" line does not count.
	std::string module = "[2.0] luo_fault: armed finish-unbound\n"
			     "[9.0] luo_fault: refused finish-unbound: needs vfio.luo_retrieve=unbound\n";
	CHECK(host::unconfirmed_knobs(module, {"finish-unbound"}, 1) ==
	      std::vector<std::string>{"finish-unbound"});

	auto said = host::unconfirmed_knob_message(builtin, "finish-unbound", 1, "vm/console.log");
	CHECK_THAT(said, ContainsSubstring("the kernel refused --fault finish-unbound: needs "
					   "vfio.luo_retrieve=unbound (see vm/console.log)"));
	CHECK_THAT(host::unconfirmed_knob_message("", "drop", 2, "c.log"),
		   ContainsSubstring("no 'luo_fault: armed drop' in each of its 2 boots"));
}

TEST_CASE("fault knobs that cannot be honoured stop the run before the kernel is built",
	  "[unit][knobs]")
{
	host::RunConfig cfg;
	cfg.scenarios = {(host::source_root() / "scenarios/smoke").string()};
	// A kernel that does not exist: reaching it would be a different error.
	cfg.kernel.kernel = "/nonexistent/bzImage";
	cfg.extra_cmdline = "luo_fault=drop-contents";
	CHECK_THROWS_WITH(host::run_suite(cfg), ContainsSubstring("give fault knobs with --fault"));
	cfg.extra_cmdline.clear();
	cfg.fault = "drop-contents,,x";
	CHECK_THROWS_WITH(host::run_suite(cfg), ContainsSubstring("single commas"));
}

// tests/data/knobs.json against the plans of its scenarios, without a VM: a
// pattern that names no case, or a case where the knob's rule cannot fail
// at that step, is a wrong entry, not a kernel finding.
TEST_CASE("every knob's expected breaks name real cases at steps of that rule", "[unit][knobs]")
{
	auto all = test::load_knob_expectations();
	REQUIRE(all.size() >= 8);
	std::string readme = host::read_file(host::source_root() / "README.md");
	for (const auto &e : all) {
		INFO("knob " << e.knob);
		// The README's knob table is what a developer reads.
		CHECK_THAT(readme, ContainsSubstring("| `" + e.knob + "` |"));
		std::vector<std::string> paths;
		for (const auto &s : e.scenarios)
			paths.push_back((host::source_root() / s).string());
		const core::Contract contract = e.contract.empty()
							? core::Contract::agreed()
							: host::resolve_contract(e.contract);
		auto cases = host::filter_cases(core::expand_files(paths, contract), e.select);
		// Each selection pattern names a case: a stale one would run
		// fewer cases than the entry means.
		for (const auto &pat : e.select) {
			INFO("select " << pat);
			CHECK(std::any_of(cases.begin(), cases.end(), [&](const core::Case &c) {
				return host::glob_match(pat, c.id);
			}));
		}
		REQUIRE_FALSE(e.breaks.empty());
		std::vector<int> hits(e.breaks.size());
		for (const auto &c : cases) {
			auto b = test::breaks_for(e, c.id);
			INFO(c.id);
			CHECK(b.size() <= 1);
			if (b.empty())
				continue;
			hits[b[0] - e.breaks.data()]++;
			bool reachable = false;
			for (const auto &s : c.steps)
				reachable |= protocol::to_string(s.op) == b[0]->op &&
					     (b[0]->object.empty() || s.object == b[0]->object) &&
					     s.expect.rule == b[0]->rule;
			// The teardown is not planned: the guest closes what the
			// case holds after its last step, so a close of an object
			// the case retrieved is reachable.
			if (b[0]->rule == "teardown")
				for (const auto &s : c.steps)
					reachable |= s.op == protocol::Op::retrieve &&
						     s.object == b[0]->object;
			CHECK(reachable);
		}
		for (size_t i = 0; i < hits.size(); i++) {
			INFO(e.breaks[i].cases);
			CHECK(hits[i] > 0);
		}
	}
}

namespace {

nlohmann::json result_case(const std::string &id, const std::string &verdict,
			   const std::string &op = "", const std::string &object = "",
			   const std::string &rule = "")
{
	nlohmann::json c{{"id", id}, {"verdict", verdict}, {"steps", nlohmann::json::array()}};
	c["steps"].push_back({{"op", "create"}, {"object", "vm"}, {"rule", "setup"}});
	if (!op.empty()) {
		c["steps"].push_back({{"op", op}, {"object", object}, {"rule", rule}});
		c["failed_step"] = 2;
	}
	return c;
}

} // namespace

TEST_CASE("a knob run must break its listed cases by their rule and nothing else", "[unit][knobs]")
{
	const auto &e = test::knob_expectation("finish-ignores-deps");
	auto run = [](std::vector<nlohmann::json> cases) {
		return nlohmann::json{{"cases", cases}};
	};
	auto caught = [&] {
		return std::vector<nlohmann::json>{
			result_case("kvm-gmem/p:vm,gmem/r:gmem", "contract-violation", "finish", "s", "C4"),
			result_case("iommufd-vfio/p:vfio,iommu/r:vfio", "contract-violation", "finish",
				    "s", "C4"),
			result_case("kvm-gmem/p:vm,gmem/r:vm", "pass")};
	};
	CHECK(test::knob_run_mismatches(e, run(caught())).empty());

	// One case of the knob caught is not enough: the other listed one passed.
	auto one = caught();
	one[1] = result_case("iommufd-vfio/p:vfio,iommu/r:vfio", "pass");
	CHECK(test::knob_run_mismatches(e, run(one)).size() == 1);
	// Caught, but by another rule, or at another step.
	auto rule = caught();
	rule[0] = result_case("kvm-gmem/p:vm,gmem/r:gmem", "contract-violation", "finish", "s", "C5");
	CHECK(test::knob_run_mismatches(e, run(rule)).size() == 1);
	auto step = caught();
	step[0] = result_case("kvm-gmem/p:vm,gmem/r:gmem", "contract-violation", "verify", "gmem", "C4");
	CHECK(test::knob_run_mismatches(e, run(step)).size() == 1);
	// A case the knob cannot reach fails: not a pass, whatever the verdict.
	auto extra = caught();
	extra[2] = result_case("kvm-gmem/p:vm,gmem/r:vm", "contract-violation", "verify", "vm", "C3");
	CHECK(test::knob_run_mismatches(e, run(extra)).size() == 1);
	extra[2] = result_case("kvm-gmem/p:vm,gmem/r:vm", "crash");
	CHECK(test::knob_run_mismatches(e, run(extra)).size() == 1);
	// A listed case crashing is not a catch.
	auto crash = caught();
	crash[0] = result_case("kvm-gmem/p:vm,gmem/r:gmem", "crash");
	CHECK(test::knob_run_mismatches(e, run(crash)).size() == 1);
	// A pattern that names no case of the run: the run did not test it.
	auto missing = caught();
	missing.erase(missing.begin() + 1);
	auto m = test::knob_run_mismatches(e, run(missing));
	REQUIRE(m.size() == 1);
	CHECK_THAT(m[0], ContainsSubstring("names no case"));
}

TEST_CASE("every knob has one entry of expectations", "[unit][knobs]")
{
	// Every knob named once.
	std::set<std::string> seen;
	for (const auto &e : test::load_knob_expectations())
		CHECK(seen.insert(e.knob).second);
	CHECK_THROWS(test::knob_expectation("no-such-knob"));
}

TEST_CASE("a knob the kernel reports itself must crash with the report's title", "[unit][knobs]")
{
	const auto &e = test::knob_expectation("release-deadlock");
	const std::string guilty = "kvm-gmem/p:vm,gmem/r:vm,gmem";
	auto run = [&](nlohmann::json g) {
		return nlohmann::json{
			{"cases", {g, result_case("kvm-gmem/p:vm,gmem/r:-", "pass"),
				   result_case("smoke-memfd/p:mem/r:mem", "pass")}}};
	};
	auto hung = result_case(guilty, "crash", "close-object", "vm", "teardown");
	hung["signature"] = "crash: INFO: task hung in kvm_vm_release";
	CHECK(test::knob_run_mismatches(e, run(hung)).empty());

	// Another report is another bug, not this knob caught.
	auto other = hung;
	other["signature"] = "crash: KASAN: slab-use-after-free Read in kvm_vm_release";
	CHECK(test::knob_run_mismatches(e, run(other)).size() == 1);
	// A violation is the oracle's word, not the kernel's report.
	auto violation = result_case(guilty, "contract-violation", "close-object", "vm", "teardown");
	CHECK(test::knob_run_mismatches(e, run(violation)).size() == 1);
	// The right report at the session's close is not the VM's.
	auto session = result_case(guilty, "crash", "session-close", "s", "teardown");
	session["signature"] = hung["signature"];
	CHECK(test::knob_run_mismatches(e, run(session)).size() == 1);
}

TEST_CASE("every knob of the README's table has its expectations, or says it is not judged",
	  "[unit][knobs]")
{
	std::set<std::string> listed;
	for (const auto &e : test::load_knob_expectations())
		listed.insert(e.knob);
	std::ifstream in(host::source_root() / "README.md");
	bool in_table = false;
	int rows = 0;
	for (std::string l; std::getline(in, l);) {
		if (l.rfind("| knob | the bug | caught by |", 0) == 0) {
			in_table = true;
			continue;
		}
		if (!in_table || l.rfind("|---", 0) == 0)
			continue;
		if (l.rfind("| `", 0) != 0)
			break;
		auto knob = l.substr(3, l.find('`', 3) - 3);
		rows++;
		INFO(l);
		CHECK((listed.count(knob) || l.find("not judged yet") != std::string::npos));
	}
	CHECK(rows >= 16);
}
