// SPDX-License-Identifier: GPL-2.0-only
//
// The watch loop every backend shares, on a machine that is only a script:
// how it tells a stall from an overrun, silence from a hang, and a host
// that went away from a guest that stopped.
#include <filesystem>
#include <fstream>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <unistd.h>

#include "host/vm/watch.hpp"

using namespace luo::host;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

// Prints `console` and `events` once, then runs until stopped or `ends`
// calls come, and ends as `end` says.
class ScriptedMachine : public Machine {
public:
	ScriptedMachine(const fs::path &dir, std::string console, std::string events, int runs, End end)
		: dir_(dir), console_(std::move(console)), events_(std::move(events)), runs_(runs),
		  end_(std::move(end))
	{
	}
	void pump() override
	{
		if (pumped_)
			return;
		std::ofstream(dir_ / "console.log") << console_;
		std::ofstream(dir_ / "events.log") << events_;
		pumped_ = true;
	}
	bool running() override { return !stopped_ && runs_-- > 0; }
	void stop() override { stopped_ = true; }
	End ended() override { return end_; }
	std::string host() const override { return "scripted"; }
	bool stopped_ = false;

private:
	fs::path dir_;
	std::string console_, events_;
	int runs_;
	End end_;
	bool pumped_ = false;
};

VmSpec spec_in(const fs::path &dir)
{
	fs::remove_all(dir);
	fs::create_directories(dir);
	VmSpec s;
	s.workdir = dir;
	return s;
}

const char *kBoot = "{\"type\":\"boot\",\"boot\":0,\"seq\":1}\n";

} // namespace

TEST_CASE("watch: a VM past its overall limit is a hang that says so", "[unit][watch]")
{
	auto dir = fs::temp_directory_path() / ("luo-watch-" + std::to_string(getpid()));
	auto spec = spec_in(dir);
	ScriptedMachine m(dir, "Linux version\n", kBoot, 1000000, {true, "", false});
	Timeouts t{100, 100, 0.3};
	auto r = watch_vm(spec, t, m, {});
	CHECK(m.stopped_);
	CHECK(r.status == VmResult::Status::hang);
	CHECK_THAT(r.why, ContainsSubstring("its limit for the whole VM"));
	CHECK(r.host == "scripted");
	fs::remove_all(dir);
}

TEST_CASE("watch: silence after the boot event is a stall", "[unit][watch]")
{
	auto dir = fs::temp_directory_path() / ("luo-watch-s-" + std::to_string(getpid()));
	auto spec = spec_in(dir);
	ScriptedMachine m(dir, "Linux version\n", kBoot, 1000000, {true, "", false});
	Timeouts t{0.3, 0.3, 100};
	auto r = watch_vm(spec, t, m, {});
	CHECK(r.status == VmResult::Status::hang);
	CHECK_THAT(r.why, ContainsSubstring("no progress for"));
	fs::remove_all(dir);
}

TEST_CASE("watch: not a byte from the guest is infra", "[unit][watch]")
{
	auto dir = fs::temp_directory_path() / ("luo-watch-i-" + std::to_string(getpid()));
	auto spec = spec_in(dir);
	ScriptedMachine m(dir, "", "", 1000000, {true, "", false});
	auto r = watch_vm(spec, Timeouts{0.3, 0.3, 100}, m, {});
	CHECK(r.status == VmResult::Status::infra);
	CHECK_THAT(r.why, ContainsSubstring("printed nothing"));
	fs::remove_all(dir);
}

TEST_CASE("watch: a lost host is infra and marked, an unclean end is infra, a clean one exited",
	  "[unit][watch]")
{
	auto dir = fs::temp_directory_path() / ("luo-watch-e-" + std::to_string(getpid()));
	auto spec = spec_in(dir);
	ScriptedMachine lost(dir, "x\n", kBoot, 2, {false, "connection lost", true});
	auto r = watch_vm(spec, Timeouts{100, 100, 100}, lost, {});
	CHECK(r.status == VmResult::Status::infra);
	CHECK(r.connection_lost);
	CHECK(r.why == "connection lost");

	spec = spec_in(dir);
	ScriptedMachine crashed(dir, "x\n", kBoot, 2, {false, "QEMU killed by SIGSEGV", false});
	r = watch_vm(spec, Timeouts{100, 100, 100}, crashed, {});
	CHECK(r.status == VmResult::Status::infra);
	CHECK_FALSE(r.connection_lost);

	// Dead before a byte under KVM: infra that points at TCG; not under TCG.
	spec = spec_in(dir);
	spec.accel = Accel::kvm;
	ScriptedMachine msr(dir, "", "", 2, {false, "QEMU killed by SIGABRT; qemu.log: MSR 0x10a", false});
	r = watch_vm(spec, Timeouts{100, 100, 100}, msr, {});
	CHECK(r.status == VmResult::Status::infra);
	CHECK_THAT(r.why, ContainsSubstring("MSR 0x10a; it ended before the kernel printed a byte"));
	CHECK_THAT(r.why, ContainsSubstring("--accel tcg"));
	spec = spec_in(dir);
	spec.accel = Accel::tcg;
	ScriptedMachine tcg(dir, "", "", 2, {false, "QEMU killed by SIGABRT", false});
	r = watch_vm(spec, Timeouts{100, 100, 100}, tcg, {});
	CHECK(r.why == "QEMU killed by SIGABRT");

	spec = spec_in(dir);
	ScriptedMachine off(dir, "x\n", kBoot, 2, {true, "", false});
	r = watch_vm(spec, Timeouts{100, 100, 100}, off, {});
	CHECK(r.status == VmResult::Status::exited);
	REQUIRE(r.events.size() == 1);
	fs::remove_all(dir);
}

TEST_CASE("watch: a VM that says done but never powers off is not done", "[unit][watch]")
{
	auto dir = fs::temp_directory_path() / ("luo-watch-d-" + std::to_string(getpid()));
	auto spec = spec_in(dir);
	std::string events = std::string(kBoot) + "{\"type\":\"done\",\"boot\":0,\"seq\":2}\n";
	ScriptedMachine stuck(dir, "x\n", events, 1000000, {true, "", false});
	auto r = watch_vm(spec, Timeouts{0.3, 0.3, 100}, stuck, {});
	CHECK(stuck.stopped_);
	CHECK(r.status == VmResult::Status::hang);
	CHECK_THAT(r.why, ContainsSubstring("reported done, then the VM did not power off"));

	// The same guest, powered off: done.
	spec = spec_in(dir);
	ScriptedMachine off(dir, "x\n", events, 2, {true, "", false});
	r = watch_vm(spec, Timeouts{0.3, 0.3, 100}, off, {});
	CHECK(r.status == VmResult::Status::done);
	fs::remove_all(dir);
}
