// SPDX-License-Identifier: GPL-2.0-only
#include "host/vm/qemu.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

#include <sys/wait.h>

#include <boost/process.hpp>

#include "host/util/errors.hpp"
#include "host/util/host.hpp"
#include "host/util/process.hpp"
#include "host/vm/host_load.hpp"
#include "host/vm/watch.hpp"

namespace luo::host {

namespace bp = boost::process;
namespace fs = std::filesystem;

namespace {

boost::filesystem::path find_qemu(const std::string &name)
{
	if (name.find('/') != std::string::npos)
		return boost::filesystem::exists(name) ? boost::filesystem::path(name)
							: boost::filesystem::path();
	return bp::search_path(name);
}

// A QEMU child whose serial ports are files in the workdir.
class QemuMachine : public Machine {
public:
	QemuMachine(bp::child &vm, const VmSpec &spec)
		: vm_(vm), spec_(spec), start_(std::chrono::steady_clock::now())
	{
	}

	bool running() override { return vm_.running(); }
	void stop() override { vm_.terminate(); }

	End ended() override
	{
		vm_.wait();
		End e;
		std::string how = describe_wait_status(vm_.native_exit_code(), &e.clean);
		if (!e.clean) {
			// QEMU exits 0 when the guest powers off or reboots
			// (-no-reboot, panic=-1), so anything else is QEMU's own
			// failure.
			std::string log = tail_of(spec_.workdir / "qemu.log", 15);
			auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_);
			e.why = "QEMU " + how + " (" + qemu_version(spec_.qemu) + ") after " +
				std::to_string((int)secs.count()) + " s; qemu.log: " +
				(log.empty() ? std::string("empty") : "\n" + log);
		}
		return e;
	}

	std::string host() const override { return local_hostname(); }

private:
	bp::child &vm_;
	const VmSpec &spec_;
	std::chrono::steady_clock::time_point start_;
};

} // namespace

std::string describe_wait_status(int raw, bool *clean)
{
	if (clean)
		*clean = WIFEXITED(raw) && WEXITSTATUS(raw) == 0;
	if (WIFSIGNALED(raw)) {
		int sig = WTERMSIG(raw);
		const char *name = sigabbrev_np(sig);
		return std::string("killed by ") + (name ? std::string("SIG") + name : "signal " + std::to_string(sig)) +
		       (WCOREDUMP(raw) ? " (core dumped)" : "");
	}
	if (WIFEXITED(raw))
		return "exited with status " + std::to_string(WEXITSTATUS(raw));
	return "ended with wait status " + std::to_string(raw);
}

std::string qemu_version(const std::string &qemu)
{
	static std::mutex mu;
	static std::map<std::string, std::string> known;
	std::lock_guard lock(mu);
	if (auto it = known.find(qemu); it != known.end())
		return it->second;
	std::string v = "unknown";
	auto exe = find_qemu(qemu);
	if (!exe.empty()) {
		bp::ipstream out;
		bp::child c(exe, "--version", bp::std_out > out, bp::std_err > bp::null,
			    bp::std_in < bp::null);
		std::string line;
		if (std::getline(out, line)) {
			// "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)"
			auto at = line.find("version ");
			v = "QEMU " + (at == std::string::npos ? line : line.substr(at + 8));
		}
		while (std::getline(out, line)) {
		}
		c.wait();
	}
	known[qemu] = v;
	return v;
}

std::vector<std::string> qemu_args(const VmSpec &spec)
{
	bool kvm = spec.accel == Accel::kvm;
	std::vector<std::string> a{
		spec.qemu,
		"-machine", std::string("q35,accel=") + (kvm ? "kvm" : "tcg"),
		// Under TCG, max less kTcgCpuWithout; under KVM, host passthrough
		// relies on nested virtualisation.
		"-cpu", kvm ? std::string("host") : std::string("max,") + kTcgCpuWithout + "=off",
		"-m", std::to_string(spec.memory_mb),
		"-smp", std::to_string(spec.cpus > 0 ? spec.cpus : cpus_for(spec.accel)),
		"-no-reboot",
		"-nodefaults",
		"-display", "none",
		"-kernel", spec.kernel.string(),
		"-initrd", spec.initrd.string(),
		"-append", kernel_cmdline(spec),
		"-device", "intel-iommu",
	};
	// A QEMU unpacked outside /usr (e.g. a newer one tried side by side)
	// finds its firmware and option ROMs next to itself, not in /usr/share.
	fs::path exe = spec.qemu;
	if (exe.has_parent_path()) {
		fs::path data = exe.parent_path().parent_path() / "share" / "qemu";
		if (fs::is_directory(data) && fs::weakly_canonical(data) != "/usr/share/qemu")
			a.insert(a.end(), {"-L", data.string(), "-L", "/usr/share/seabios"});
	}
	if (spec.interactive) {
		a.insert(a.end(), {"-serial", "mon:stdio"});
	} else {
		a.insert(a.end(), {"-monitor", "none",
				   "-serial", "file:" + (spec.workdir / "console.log").string(),
				   "-serial", "file:" + (spec.workdir / "events.log").string()});
	}
	for (const auto &dev : edu_device_args(spec.edu_devices))
		a.insert(a.end(), {"-device", dev});
	return a;
}

VmResult run_vm(const VmSpec &spec, const Timeouts &t, const EventFn &on_event)
{
	fs::create_directories(spec.workdir);
	for (const char *f : {"console.log", "events.log", "qemu.log"})
		fs::remove(spec.workdir / f);
	auto args = qemu_args(spec);
	{
		std::ofstream cmd(spec.workdir / "qemu.cmd");
		cmd << join_command(args) << "\n";
	}
	auto exe = find_qemu(args[0]);
	if (exe.empty())
		throw SetupError(args[0] + " is not installed: run ci/setup (apt-get install qemu-system-x86)");
	std::vector<std::string> rest(args.begin() + 1, args.end());

	bp::child vm;
	try {
		vm = bp::child(exe, bp::args(rest), bp::std_in < bp::null,
			       (bp::std_out & bp::std_err) > (spec.workdir / "qemu.log").string());
	} catch (const bp::process_error &e) {
		// fork/exec failed (no memory, too many processes): nothing ran.
		throw InfraError("QEMU could not be started: " + std::string(e.what()));
	}
	QemuMachine m(vm, spec);
	VmResult r = watch_vm(spec, t, m, on_event);
	// QEMU runs here, so this host's load is the guest's.
	if (r.status == VmResult::Status::hang)
		r.why += host_cpu_pressure_note();
	return r;
}

int run_interactive(const VmSpec &spec)
{
	auto args = qemu_args(spec);
	auto exe = find_qemu(args[0]);
	if (exe.empty())
		throw SetupError(args[0] + " is not installed: run ci/setup");
	std::vector<std::string> rest(args.begin() + 1, args.end());
	std::fprintf(stderr, "%s\n(quit: Ctrl-A x)\n", join_command(args).c_str());
	bp::child vm(exe, bp::args(rest));
	vm.wait();
	return vm.exit_code();
}

} // namespace luo::host
