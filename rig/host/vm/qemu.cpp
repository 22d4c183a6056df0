// SPDX-License-Identifier: GPL-2.0-only
#include "host/vm/qemu.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <sys/wait.h>

#include <boost/process.hpp>

#include "host/util/errors.hpp"
#include "host/util/process.hpp"

namespace luo::host {

namespace bp = boost::process;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

// Every edu device needs an IOMMU group of its own, or a second VFIO device
// cannot be bound to its own iommufd: devices behind a pci-bridge share one
// group.  So up to 29 sit directly on the root bus; past that, 25 do and the
// rest each get a PCIe root port, eight ports per slot in the last four.
constexpr int kRootFirst = 0x02;
constexpr int kRootOnly = 29;          // 0x02..0x1e
constexpr int kRootShared = 25;        // 0x02..0x1a when root ports are needed
constexpr int kPortSlotFirst = 0x1b;
constexpr int kPortSlots = 4;
constexpr int kMaxEdu = kRootShared + kPortSlots * 8;

std::atomic<bool> g_interrupted{false};

void on_signal(int)
{
	g_interrupted = true;
}

std::string hex2(int v)
{
	char b[16];
	std::snprintf(b, sizeof(b), "%02x", v);
	return b;
}

} // namespace

void install_interrupt_handler()
{
	struct sigaction sa {};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted()
{
	return g_interrupted;
}

const char *to_string(VmResult::Status s)
{
	switch (s) {
	case VmResult::Status::done: return "done";
	case VmResult::Status::exited: return "exited";
	case VmResult::Status::hang: return "hang";
	case VmResult::Status::infra: return "infra";
	case VmResult::Status::interrupted: return "interrupted";
	}
	return "?";
}

namespace {

boost::filesystem::path find_qemu(const std::string &name)
{
	if (name.find('/') != std::string::npos)
		return boost::filesystem::exists(name) ? boost::filesystem::path(name)
							: boost::filesystem::path();
	return bp::search_path(name);
}

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

int max_edu_devices()
{
	return kMaxEdu;
}

std::vector<std::string> edu_addresses(int count)
{
	std::vector<std::string> out;
	int on_root = count <= kRootOnly ? count : kRootShared;
	for (int i = 0; i < on_root; i++)
		out.push_back("0000:00:" + hex2(kRootFirst + i) + ".0");
	// The firmware numbers the root ports' buses in slot.function order.
	for (int p = 0; p < count - on_root; p++)
		out.push_back("0000:" + hex2(p + 1) + ":00.0");
	return out;
}

int cpus_for(Accel accel)
{
	return accel == Accel::tcg ? 1 : 2;
}

std::string kernel_cmdline(const VmSpec &spec)
{
	// retain_initrd: the mock VMM hands its own initramfs to kexec_file_load.
	// no_timer_check: on a loaded host, TCG can miss the IO-APIC timer probe
	// and the kernel panics ("timer doesn't work through Interrupt-remapped
	// IO-APIC") before anything under test has run.
	std::string c = "console=ttyS0 panic=-1 oops=panic rdinit=/init liveupdate=on "
			"intel_iommu=on retain_initrd no_timer_check loglevel=6";
	if (!spec.extra_cmdline.empty())
		c += " " + spec.extra_cmdline;
	return c;
}

std::vector<std::string> qemu_args(const VmSpec &spec)
{
	bool kvm = spec.accel == Accel::kvm;
	std::vector<std::string> a{
		spec.qemu,
		"-machine", std::string("q35,accel=") + (kvm ? "kvm" : "tcg"),
		// -cpu max under TCG emulates SVM, so the guest gets a working /dev/kvm;
		// under KVM, host passthrough relies on nested virtualisation.
		"-cpu", kvm ? "host" : "max",
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
	if (spec.edu_devices > kMaxEdu)
		throw SetupError("a VM takes at most " + std::to_string(kMaxEdu) + " edu devices, " +
				 std::to_string(spec.edu_devices) + " asked");
	int on_root = spec.edu_devices <= kRootOnly ? spec.edu_devices : kRootShared;
	for (int i = 0; i < on_root; i++)
		a.insert(a.end(), {"-device", "edu,bus=pcie.0,addr=0x" + hex2(kRootFirst + i)});
	for (int p = 0; p < spec.edu_devices - on_root; p++) {
		int slot = kPortSlotFirst + p / 8, fn = p % 8;
		std::string id = "rp" + std::to_string(p);
		a.insert(a.end(), {"-device", "pcie-root-port,id=" + id + ",bus=pcie.0,chassis=" +
						      std::to_string(p + 1) + ",slot=" + std::to_string(p + 1) +
						      ",addr=0x" + hex2(slot) + "." + std::to_string(fn) +
						      (fn == 0 ? ",multifunction=on" : "") + ",io-reserve=0",
				   "-device", "edu,bus=" + id});
	}
	return a;
}

Timeouts timeouts_for(Accel accel, int kexecs, int steps)
{
	// TCG boots a tiny kernel in ~2 s on an idle core but a loaded 2-core
	// machine running several VMs can be ten times slower.
	double boot = accel == Accel::kvm ? 30 : 120;
	double per_step = accel == Accel::kvm ? 0.2 : 1.0;
	Timeouts t;
	t.boot = boot;
	t.stall = boot;
	t.total = boot * (kexecs + 1) + per_step * steps + 60;
	return t;
}

VmResult run_vm(const VmSpec &spec, const Timeouts &t,
		const std::function<void(const protocol::Event &)> &on_event)
{
	VmResult r;
	fs::create_directories(spec.workdir);
	r.console_log = spec.workdir / "console.log";
	r.events_log = spec.workdir / "events.log";
	r.qemu_log = spec.workdir / "qemu.log";
	for (const auto &p : {r.console_log, r.events_log, r.qemu_log})
		fs::remove(p);
	auto args = qemu_args(spec);
	{
		std::ofstream cmd(spec.workdir / "qemu.cmd");
		cmd << join_command(args) << "\n";
	}
	auto exe = find_qemu(args[0]);
	if (exe.empty())
		throw SetupError(args[0] + " is not installed: run ci/setup (apt-get install qemu-system-x86)");
	std::vector<std::string> rest(args.begin() + 1, args.end());

	auto start = clock_type::now();
	auto last_progress = start;
	bp::child vm;
	try {
		vm = bp::child(exe, bp::args(rest), bp::std_in < bp::null,
			       (bp::std_out & bp::std_err) > r.qemu_log.string());
	} catch (const bp::process_error &e) {
		// fork/exec failed (no memory, too many processes): nothing ran.
		throw InfraError("QEMU could not be started: " + std::string(e.what()));
	}

	std::ifstream events;
	std::string partial;
	bool done = false, booted = false;
	auto seconds_since = [](clock_type::time_point p) {
		return std::chrono::duration<double>(clock_type::now() - p).count();
	};
	auto drain_events = [&] {
		if (!events.is_open()) {
			events.open(r.events_log, std::ios::binary);
			if (!events.is_open())
				return;
		}
		char buf[8192];
		for (;;) {
			events.read(buf, sizeof(buf));
			auto n = events.gcount();
			if (n <= 0)
				break;
			partial.append(buf, n);
		}
		events.clear();
		size_t nl;
		while ((nl = partial.find('\n')) != std::string::npos) {
			std::string line = partial.substr(0, nl);
			partial.erase(0, nl + 1);
			if (!line.empty() && line.back() == '\r')
				line.pop_back();
			if (line.empty())
				continue;
			protocol::Event ev;
			try {
				ev = protocol::event_from_json(line);
			} catch (const std::exception &) {
				// Line noise on the UART, or a type outside the closed
				// set: counted, and the judge sees a missing step.
				r.noise_lines++;
				continue;
			}
			last_progress = clock_type::now();
			booted |= ev.type == protocol::EventType::boot;
			// A fatal guest powers off right after saying so.
			done |= ev.type == protocol::EventType::done ||
				ev.type == protocol::EventType::fatal;
			r.events.push_back(ev);
			if (on_event)
				on_event(ev);
		}
	};

	while (vm.running()) {
		drain_events();
		if (interrupted()) {
			vm.terminate();
			r.status = VmResult::Status::interrupted;
			r.why = "interrupted";
			break;
		}
		double quiet = seconds_since(last_progress);
		double limit = booted ? t.stall : t.boot;
		if (quiet > limit || seconds_since(start) > t.total) {
			vm.terminate();
			std::error_code ec;
			auto console_bytes = fs::file_size(r.console_log, ec);
			if (r.events.empty() && (ec || console_bytes == 0)) {
				// Not one byte from the guest: the kernel never ran, so
				// this says nothing about it.
				r.status = VmResult::Status::infra;
				r.why = "the VM printed nothing on its console in " +
					std::to_string((int)quiet) +
					" s: the kernel never started. Check the acceleration "
					"(--accel " + std::string(spec.accel == Accel::kvm ? "kvm" : "tcg") +
					" was used; try --accel tcg), the firmware, and the QEMU "
					"command line in " + (spec.workdir / "qemu.cmd").string();
			} else {
				r.status = VmResult::Status::hang;
				r.why = "no progress for " + std::to_string((int)quiet) + " s (limit " +
					std::to_string((int)limit) + " s); last event: " +
					(r.events.empty() ? std::string("none")
							  : protocol::event_to_json(r.events.back()));
			}
			break;
		}
		if (done && seconds_since(last_progress) > 15) {
			vm.terminate(); // powered off in the guest but QEMU did not exit
			break;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	}
	vm.wait();
	drain_events();
	r.seconds = seconds_since(start);
	if (r.status != VmResult::Status::exited)
		return r; // we stopped it: hang, silence or interrupt
	bool clean = false;
	std::string how = describe_wait_status(vm.native_exit_code(), &clean);
	if (done) {
		r.status = VmResult::Status::done;
	} else if (!clean) {
		// QEMU exits 0 when the guest powers off or reboots (-no-reboot,
		// panic=-1), so anything else is QEMU's own failure.
		r.status = VmResult::Status::infra;
		std::string log = tail_of(r.qemu_log, 15);
		r.why = "QEMU " + how + " (" + qemu_version(spec.qemu) + ") after " +
			std::to_string((int)r.seconds) + " s; qemu.log: " +
			(log.empty() ? std::string("empty") : "\n" + log);
	} else {
		r.status = VmResult::Status::exited;
		r.why = "the VM stopped before the plan was done";
	}
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
