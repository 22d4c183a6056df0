// SPDX-License-Identifier: GPL-2.0-only
//
// Inputs the rig cannot honour stop it before the first boot; a VM that never
// ran the kernel is infra, not a kernel hang.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fcntl.h>
#include <unistd.h>

#include "e2e_support.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"

using namespace luo;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

TEST_CASE("an unknown fault knob stops the run before any boot, naming the kernel's knobs",
	  "[e2e][gate]")
{
	auto cfg = e2e::config_for({"scenarios/smoke"}, "unknown-knob");
	cfg.fault = "no-such-knob";
	try {
		host::run_suite(cfg);
		FAIL("the run accepted --fault no-such-knob");
	} catch (const host::SetupError &e) {
		CHECK_THAT(e.what(), ContainsSubstring("no-such-knob"));
		// Read from the kernel image, not from a list in the rig.
		CHECK_THAT(e.what(), ContainsSubstring("preserve-lookup"));
		CHECK_THAT(e.what(), ContainsSubstring("internal-is-explicit"));
	}
	CHECK_FALSE(fs::exists(cfg.out_dir / "vm-1"));
}

TEST_CASE("a VM that never prints a byte is infra, not a kernel hang", "[e2e][gate]")
{
	// Only a host whose /dev/kvm opens but whose CPU has no vmx/svm (a
	// paging-based KVM) reliably gives a VM that never starts the kernel.
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		SKIP("no /dev/kvm here");
	close(fd);
	std::string cpuinfo = host::read_file("/proc/cpuinfo");
	if (cpuinfo.find(" vmx") != std::string::npos || cpuinfo.find(" svm") != std::string::npos)
		SKIP("this host's KVM runs guests");

	auto cfg = e2e::config_for({"scenarios/smoke"}, "silent-vm");
	cfg.accel = "kvm";
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 1);
	const auto &c = rep.cases[0];
	INFO(c.message);
	CHECK(c.verdict == host::Verdict::infra);
	// Such a KVM either lets the VM sit silent or, on some host kernels,
	// fails it at once (QEMU aborts on an MSR it cannot set): either way
	// the kernel never ran, and the message says to use TCG.
	bool silent = c.message.find("printed nothing") != std::string::npos;
	bool died = c.message.find("ended before the kernel printed a byte") != std::string::npos;
	CHECK((silent || died));
	CHECK_THAT(c.message, ContainsSubstring("--accel tcg"));
	// Retried once on a fresh QEMU, then left as infra.
	CHECK(c.attempts == 2);
	CHECK(rep.summary.infra_retried == 1);
	CHECK(rep.exit_code == host::kExitInfra);
}
