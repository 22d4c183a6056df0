// SPDX-License-Identifier: GPL-2.0-only
//
// The command line as a developer meets it: exit codes and error messages.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>
#include <fstream>

#include <boost/process.hpp>

#include "host/vm/console_level.hpp"

using Catch::Matchers::ContainsSubstring;
namespace bp = boost::process;
namespace fs = std::filesystem;

namespace {

struct Result {
	int code;
	std::string out, err;
};

Result luo_rig(std::vector<std::string> args)
{
	bp::ipstream out, err;
	bp::child c(std::string(LUO_RIG_BINARY_DIR) + "/luo-rig", bp::args(args), bp::std_out > out,
		    bp::std_err > err, bp::std_in < bp::null);
	Result r;
	std::string l;
	while (std::getline(out, l))
		r.out += l + "\n";
	while (std::getline(err, l))
		r.err += l + "\n";
	c.wait();
	r.code = c.exit_code();
	return r;
}

} // namespace

TEST_CASE("a malformed scenario names file:line:column and exits 2", "[unit][cli]")
{
	fs::path f = fs::temp_directory_path() / "luo-rig-bad-scenario.json";
	std::ofstream(f) << "{\n  \"name\": \"bad\",\n  \"objects\": {\"vm\": \"kvm-vmm\"}\n}\n";
	auto r = luo_rig({"plan", f.string()});
	CHECK(r.code == 2);
	CHECK_THAT(r.err, ContainsSubstring(f.string() + ":3:"));
	fs::remove(f);
}

TEST_CASE("plan lists cases and expectations without booting", "[unit][cli]")
{
	auto r = luo_rig({"plan", std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/deps/kvm-gmem.json"});
	CHECK(r.code == 0);
	CHECK_THAT(r.out, ContainsSubstring("kvm-gmem/p:gmem,vm/r:gmem"));
	CHECK_THAT(r.out, ContainsSubstring("EBUSY"));
}

TEST_CASE("unknown options and contracts are setup errors", "[unit][cli]")
{
	CHECK(luo_rig({"run", "--no-such-flag"}).code == 2);
	auto r = luo_rig({"plan", "--contract", "lenient",
			  std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/smoke"});
	CHECK(r.code == 2);
	CHECK_THAT(r.err, ContainsSubstring("no such contract; the rig has agreed, posted-2026, strict"));
}

TEST_CASE("plan --diff compares two contracts; a bad contract file is exit 2 with its place",
	  "[unit][cli]")
{
	std::string scen = std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/deps/iommufd-vfio.json";
	auto d = luo_rig({"plan", "--diff", "agreed", "posted-2026", scen});
	CHECK(d.code == 0);
	CHECK_THAT(d.out, ContainsSubstring("agreed | posted-2026: ") &&
				  ContainsSubstring(": ok:C1 | ENOENT:S1"));
	CHECK(luo_rig({"plan", "--diff", "agreed", "agreed", scen}).code == 2);
	CHECK(luo_rig({"plan", "--diff", "agreed", "--contract", "strict", scen}).code == 2);

	auto dir = std::filesystem::temp_directory_path() / "luo-rig-cli-contract";
	std::filesystem::create_directories(dir);
	std::ofstream(dir / "bad.json") << "{\n  \"rules\": {\"finish\": {\"error\": 16}}\n}\n";
	auto r = luo_rig({"run", "--contract", (dir / "bad.json").string(), scen});
	CHECK(r.code == 2);
	CHECK_THAT(r.err, ContainsSubstring("bad.json:2:") && ContainsSubstring("/rules/finish/error"));
	std::filesystem::remove_all(dir);
}

TEST_CASE("a bench option its mode would ignore is refused before anything boots", "[unit][cli]")
{
	auto r = luo_rig({"bench", "--suite", "--cases", "3"});
	CHECK(r.code == 2);
	CHECK_THAT(r.err, ContainsSubstring("bench --suite does not use --cases"));
	r = luo_rig({"bench", "--backends", "--qemu-stress", "2"});
	CHECK(r.code == 2);
	CHECK_THAT(r.err, ContainsSubstring("different benchmarks"));
	r = luo_rig({"bench", "--cases", "2", "--devices", "3"});
	CHECK(r.code == 2);
	CHECK_THAT(r.err, ContainsSubstring("bench --backends or bench --qemu-stress does"));
	r = luo_rig({"bench", "--qemu-stress", "1", "--vms", "2"});
	CHECK(r.code == 2);
	CHECK_THAT(r.err, ContainsSubstring("--vms (bench --backends does)"));
	r = luo_rig({"bench", "--suite", "--rounds", "1"});
	CHECK(r.code == 2);
	CHECK_THAT(r.err, ContainsSubstring("at least 2 rounds"));
}

TEST_CASE("run refuses a round count below one", "[unit][cli]")
{
	auto r = luo_rig({"run", "--rounds", "0", std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/smoke"});
	CHECK(r.code == 2);
	CHECK_THAT(r.err, ContainsSubstring("--rounds 0"));
}

TEST_CASE("a guest size the VM cannot take is refused before anything boots", "[unit][cli]")
{
	auto scenario = std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/smoke";
	for (std::vector<std::string> bad : {std::vector<std::string>{"--vm-cpus", "0"},
					     {"--vm-cpus", "65"},
					     {"--memory", "16"},
					     {"--memory", "-1"}}) {
		for (const char *cmd : {"run", "repro"}) {
			std::vector<std::string> args{cmd};
			args.insert(args.end(), bad.begin(), bad.end());
			args.push_back(cmd == std::string("run") ? scenario : "smoke-memfd/p:mem/r:mem");
			auto r = luo_rig(args);
			INFO(cmd << " " << bad[0] << " " << bad[1] << ": " << r.err);
			CHECK(r.code == 2);
			CHECK_THAT(r.err, ContainsSubstring(bad[0]));
		}
	}
}

TEST_CASE("an --append that keeps WARNINGs off the console is refused before anything boots",
	  "[unit][cli]")
{
	using luo::host::console_level_problem;
	for (const char *bad : {"quiet", "loglevel=4", "loglevel=0", "debug quiet",
				"sysctl.kernel.printk=\"3 4 1 7\"", "console_loglevel=1",
				"nokaslr loglevel=3 earlyprintk=serial"}) {
		INFO(bad);
		auto why = console_level_problem(bad);
		REQUIRE(why);
		CHECK_THAT(*why, ContainsSubstring("no WARNING"));
	}
	for (const char *fine : {"", "debug", "loglevel=5", "loglevel=8", "quiet debug",
				 "quiet loglevel=7", "loglevel=1 ignore_loglevel", "nokaslr",
				 "memblock=debug"}) {
		INFO(fine);
		CHECK_FALSE(console_level_problem(fine));
	}

	auto scenario = std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/smoke";
	for (const char *cmd : {"run", "repro"}) {
		std::vector<std::string> args{cmd};
		if (std::string(cmd) == "repro")
			args.push_back("smoke/x");
		args.insert(args.end(), {"--append", "console=ttyS0 quiet", "--kernel",
					 "/nonexistent/bzImage", scenario});
		auto r = luo_rig(args);
		INFO(cmd << ": " << r.err);
		CHECK(r.code == 2);
		CHECK_THAT(r.err, ContainsSubstring("'quiet' sets the console log level to 4") &&
					  ContainsSubstring("Drop it"));
	}
}

TEST_CASE("run --from-kernel takes a bzImage, and nothing another kernel's boot cannot honour",
	  "[unit][cli]")
{
	const auto dir = fs::temp_directory_path() / "luo-rig-from-kernel";
	fs::create_directories(dir);
	// Just enough of the x86 boot protocol header for a release string.
	std::string image(0x1000, '\0');
	image.replace(0x202, 4, "HdrS");
	image[0x20e] = 0x00;
	image[0x20f] = 0x03;  // version string at 0x200 + 0x300
	image.replace(0x500, 12, "6.18.0 (old)");
	std::ofstream(dir / "bzImage", std::ios::binary) << image;
	std::ofstream(dir / "notakernel") << "hello";
	const auto smoke = std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/smoke";
	const auto from = (dir / "bzImage").string();

	struct Bad {
		std::vector<std::string> args;
		const char *says;
	};
	for (const auto &b : std::vector<Bad>{
		     {{"--from-kernel", (dir / "missing").string()}, "no such kernel image"},
		     {{"--from-kernel", (dir / "notakernel").string()}, "not an x86 bzImage"},
		     {{"--from-kernel", from, "--fault", "drop-contents"}, "with --fault"},
		     {{"--from-kernel", from, "--contract", "posted-2026"}, "its kernel block"},
		     {{"--from-kernel", from, "--inject", "fail-nth", "--kernel-flavour", "debug"},
		      "with --inject fail-nth"},
		     {{"--from-kernel", from, "--kernel-flavour", "debug"}, "--kernel-flavour debug"},
	     }) {
		std::vector<std::string> args{"run"};
		args.insert(args.end(), b.args.begin(), b.args.end());
		args.push_back(smoke);
		auto r = luo_rig(args);
		INFO(b.args[1] << ": " << r.err);
		CHECK(r.code == 2);
		CHECK_THAT(r.err, ContainsSubstring("--from-kernel") && ContainsSubstring(b.says));
	}
	fs::remove_all(dir);
}
