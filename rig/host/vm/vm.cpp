// SPDX-License-Identifier: GPL-2.0-only
#include "host/vm/vm.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>

#include "host/util/errors.hpp"

namespace luo::host {

namespace {

// Every edu device needs an IOMMU group of its own, or a second VFIO device
// cannot be bound to its own iommufd: devices behind a pci-bridge share one
// group.  Up to 29 sit directly on the root bus (slots 0x02..0x1e); past that,
// the last slots turn into eight PCIe root ports each, one device behind each
// port, as few slots as the count needs: under TCG a root port costs the
// kernel about 0.15 s per boot (ACPI scan, window sizing, IOMMU groups),
// a direct device next to nothing.  Measured per VM of two boots: 29
// devices 5.0 s, 57 10.8 s, 80 19.3 s, 120 44 s; 232 no longer boots within
// the boot time limit, so a VM stops at 120.
constexpr int kRootFirst = 0x02;
constexpr int kRootSlots = 29;
constexpr int kMaxEdu = 120;

// Slots given over to root ports for `count` devices.
int port_slots(int count)
{
	if (count <= kRootSlots)
		return 0;
	// (kRootSlots - s) direct + 8 s behind ports >= count
	return (count - kRootSlots + 6) / 7;
}

int direct_devices(int count)
{
	return std::min(count, kRootSlots - port_slots(count));
}

std::atomic<bool> g_interrupted{false};

void on_signal(int)
{
	g_interrupted = true;
}

} // namespace

std::string hex2(int v)
{
	char b[16];
	std::snprintf(b, sizeof(b), "%02x", v);
	return b;
}

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

int max_edu_devices()
{
	return kMaxEdu;
}

std::vector<EduPlacement> edu_layout(int count)
{
	if (count > kMaxEdu)
		throw SetupError("a VM takes at most " + std::to_string(kMaxEdu) + " edu devices, " +
				 std::to_string(count) + " asked");
	std::vector<EduPlacement> out;
	int on_root = direct_devices(count);
	for (int i = 0; i < on_root; i++)
		out.push_back({false, kRootFirst + i, 0, 0});
	for (int p = 0; p < count - on_root; p++)
		out.push_back({true, kRootFirst + on_root + p / 8, p % 8, p});
	return out;
}

std::vector<std::string> edu_device_args(int count)
{
	std::vector<std::string> out;
	for (const auto &d : edu_layout(count)) {
		if (!d.behind_port) {
			out.push_back("edu,bus=pcie.0,addr=0x" + hex2(d.slot));
			continue;
		}
		std::string id = "rp" + std::to_string(d.port);
		out.push_back("pcie-root-port,id=" + id + ",bus=pcie.0,chassis=" +
			      std::to_string(d.port + 1) + ",slot=" + std::to_string(d.port + 1) +
			      ",addr=0x" + hex2(d.slot) + "." + std::to_string(d.function) +
			      (d.function == 0 ? ",multifunction=on" : "") + ",io-reserve=0");
		out.push_back("edu,bus=" + id);
	}
	return out;
}

std::vector<std::string> edu_addresses(int count)
{
	std::vector<std::string> out;
	int on_root = direct_devices(count);
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

Timeouts timeouts_for(Accel accel, int kexecs, int steps, int step_weight)
{
	// TCG boots a tiny kernel in ~2 s on an idle core but a loaded 2-core
	// machine running several VMs can be ten times slower.
	double boot = accel == Accel::kvm ? 30 : 120;
	double per_step = accel == Accel::kvm ? 0.2 : 1.0;
	Timeouts t;
	t.boot = boot;
	// Under the debug flavour a refused kexec kept the guest silent 49 s on
	// an idle host, against a stall limit of 120 s; a loaded host is slower.
	t.stall = step_weight > 1 ? 3 * boot : boot;
	t.total = boot * (kexecs + 1) + per_step * steps * step_weight + 60;
	return t;
}

} // namespace luo::host
