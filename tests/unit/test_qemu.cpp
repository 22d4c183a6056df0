// SPDX-License-Identifier: GPL-2.0-only
#include <algorithm>
#include <filesystem>
#include <catch2/catch_test_macros.hpp>

#include "host/vm/accel.hpp"
#include "host/util/errors.hpp"
#include "host/vm/calibration.hpp"
#include "host/vm/host_load.hpp"
#include "host/vm/qemu.hpp"

using namespace luo::host;

namespace {

bool has_pair(const std::vector<std::string> &a, const std::string &k, const std::string &v)
{
	for (size_t i = 0; i + 1 < a.size(); i++)
		if (a[i] == k && a[i + 1] == v)
			return true;
	return false;
}

int count_of(const std::vector<std::string> &a, const std::string &prefix)
{
	return std::count_if(a.begin(), a.end(),
			     [&](const std::string &s) { return s.rfind(prefix, 0) == 0; });
}

} // namespace

TEST_CASE("TCG command line: q35, emulated SVM, IOMMU, two serial ports", "[unit][qemu]")
{
	VmSpec s;
	s.kernel = "/k/bzImage";
	s.initrd = "/r/initrd";
	s.workdir = "/w";
	s.extra_cmdline = "luo_fault=drop-contents";
	auto a = qemu_args(s);
	CHECK(has_pair(a, "-machine", "q35,accel=tcg"));
	CHECK(has_pair(a, "-cpu", "max,la57=off"));
	CHECK(has_pair(a, "-smp", "1"));
	CHECK(has_pair(a, "-device", "intel-iommu"));
	CHECK(has_pair(a, "-serial", "file:/w/console.log"));
	CHECK(has_pair(a, "-serial", "file:/w/events.log"));
	CHECK(std::find(a.begin(), a.end(), "-no-reboot") != a.end());
	auto append = std::find(a.begin(), a.end(), "-append");
	REQUIRE(append != a.end());
	std::string cmd = *(append + 1);
	for (auto word : {"liveupdate=on", "intel_iommu=on", "retain_initrd", "panic=-1",
			  "luo_fault=drop-contents", "console=ttyS0"})
		CHECK(cmd.find(word) != std::string::npos);
}

TEST_CASE("KVM uses host CPU passthrough", "[unit][qemu]")
{
	VmSpec s;
	s.accel = Accel::kvm;
	auto a = qemu_args(s);
	CHECK(has_pair(a, "-machine", "q35,accel=kvm"));
	CHECK(has_pair(a, "-cpu", "host"));
	CHECK(has_pair(a, "-smp", "2"));
	s.cpus = 4;
	CHECK(has_pair(qemu_args(s), "-smp", "4"));
}

TEST_CASE("edu devices fill the root bus, then get root ports", "[unit][qemu]")
{
	VmSpec s;
	s.edu_devices = 3;
	auto a = qemu_args(s);
	CHECK(has_pair(a, "-device", "edu,bus=pcie.0,addr=0x02"));
	CHECK(has_pair(a, "-device", "edu,bus=pcie.0,addr=0x04"));
	CHECK(count_of(a, "pcie-root-port") == 0);
	CHECK(edu_addresses(3) == std::vector<std::string>{"0000:00:02.0", "0000:00:03.0", "0000:00:04.0"});
	CHECK(edu_addresses(29).back() == "0000:00:1e.0");

	// Past 29, the last root slots turn into eight root ports each, as few
	// as the count needs: devices behind one bridge would share an IOMMU
	// group.  57 is 25 direct and 4 slots of ports.
	s.edu_devices = 57;
	a = qemu_args(s);
	CHECK(count_of(a, "edu,") == 57);
	CHECK(count_of(a, "pcie-root-port,") == 32);
	CHECK(count_of(a, "pci-bridge") == 0);
	auto addrs = edu_addresses(57);
	CHECK(addrs[24] == "0000:00:1a.0");
	CHECK(addrs[25] == "0000:01:00.0");
	CHECK(addrs[56] == "0000:20:00.0");
	// 120: 16 direct, 13 slots (104 ports) from 0x12 on.
	a = qemu_args([&] { auto t = s; t.edu_devices = 120; return t; }());
	CHECK(count_of(a, "pcie-root-port,") == 104);
	CHECK(std::count_if(a.begin(), a.end(), [](const std::string &v) {
		      return v.find(",addr=0x12.0,multifunction=on") != std::string::npos;
	      }) == 1);
	CHECK(edu_addresses(120)[15] == "0000:00:11.0");
	// The most.
	s.edu_devices = max_edu_devices();
	CHECK(max_edu_devices() == 120);
	a = qemu_args(s);
	CHECK(count_of(a, "edu,") == 120);
	addrs = edu_addresses(max_edu_devices());
	CHECK(addrs[16] == "0000:01:00.0");
	CHECK(addrs[119] == "0000:68:00.0");
	std::sort(addrs.begin(), addrs.end());
	CHECK(std::adjacent_find(addrs.begin(), addrs.end()) == addrs.end());
	s.edu_devices = max_edu_devices() + 1;
	CHECK_THROWS_AS(qemu_args(s), SetupError);
}

TEST_CASE("acceleration follows the CPU flags and /dev/kvm", "[unit][accel]")
{
	std::string vmx = "processor\t: 0\nflags\t\t: fpu vme vmx sse\n";
	std::string none = "processor\t: 0\nflags\t\t: fpu vme sse\n";
	CHECK(decide_accel("auto", vmx, true).accel == Accel::kvm);
	CHECK(decide_accel("auto", vmx, false).accel == Accel::tcg);
	// A /dev/kvm on a CPU without vmx/svm cannot run a standard kernel.
	CHECK(decide_accel("auto", none, true).accel == Accel::tcg);
	CHECK(decide_accel("tcg", vmx, true).accel == Accel::tcg);
	CHECK(decide_accel("kvm", none, true).accel == Accel::kvm);
	CHECK_THROWS_AS(decide_accel("kvm", vmx, false), SetupError);
	CHECK_THROWS_AS(decide_accel("hvf", vmx, true), SetupError);
}

TEST_CASE("timeouts are longer under TCG and grow with kexecs", "[unit][qemu]")
{
	auto tcg = timeouts_for(Accel::tcg, 1, 100);
	auto kvm = timeouts_for(Accel::kvm, 1, 100);
	CHECK(tcg.boot > kvm.boot);
	CHECK(timeouts_for(Accel::tcg, 2, 100).total > tcg.total);
	// A slower kernel's steps stretch the total and the silence allowed.
	auto debug = timeouts_for(Accel::tcg, 1, 100, 15);
	CHECK(debug.total == tcg.total + 100 * 14);
	CHECK(debug.stall == 3 * tcg.stall);
	CHECK(debug.boot == tcg.boot);
}

TEST_CASE("a QEMU that dies at once is an infrastructure error with its output", "[unit][qemu]")
{
	namespace fs = std::filesystem;
	VmSpec s;
	s.qemu = "false"; // exits 1 before any event, like a QEMU refusing its arguments
	s.workdir = fs::temp_directory_path() / "luo-rig-unit-qemu";
	Timeouts t{5, 5, 10};
	auto r = run_vm(s, t);
	CHECK(r.status == VmResult::Status::infra);
	CHECK(r.why.find("exited with status 1") != std::string::npos);
	CHECK(r.seconds < 5);
	fs::remove_all(s.workdir);
}

TEST_CASE("under TCG the delay loop is preset from the host clock, under KVM it is not",
	  "[unit][qemu]")
{
	std::string cpuinfo = "processor\t: 0\ncpu MHz\t\t: 2299.998\nflags\t\t: fpu\n";
	CHECK(luo::host::lpj_arg(luo::host::Accel::tcg, cpuinfo, 250) == "lpj=9199992");
	CHECK(luo::host::lpj_arg(luo::host::Accel::tcg, cpuinfo, 1000) == "lpj=2299998");
	CHECK(luo::host::lpj_arg(luo::host::Accel::kvm, cpuinfo, 250).empty());
	CHECK(luo::host::lpj_arg(luo::host::Accel::tcg, "processor\t: 0\n", 250).empty());
	CHECK(luo::host::kernel_hz("/nonexistent/bzImage") == 250);
}

TEST_CASE("a hang's message carries the host's CPU pressure when the kernel has PSI", "[unit][qemu]")
{
	CHECK(luo::host::cpu_pressure_note("some avg10=4.38 avg60=37.72 avg300=46.69 total=7534798535\n"
					   "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n") ==
	      "; host CPU pressure then: 37.7 % of the last minute, 46.7 % of the last five "
	      "(tasks waiting for a CPU)");
	CHECK(luo::host::cpu_pressure_note("").empty());
	CHECK(luo::host::cpu_pressure_note("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n").empty());
}
