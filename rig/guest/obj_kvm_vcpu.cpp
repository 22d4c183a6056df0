// SPDX-License-Identifier: GPL-2.0-only
//
// A vCPU of the guest_memfd's own VM reads every page of it (vcpu_program.hpp)
// and the VMM compares each page's checksum with the layout.  The mmap check
// reads the page cache through kvm_gmem_fault_user_mapping(); this one
// through kvm_gmem_get_pfn(), where a guest's accesses go, so a restore that
// leaves folios right for one path and wrong for the other is caught.
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest/gmem_layout.hpp"
#include "guest/kinds.hpp"
#include "guest/pattern.hpp"
#include "guest/sys.hpp"
#include "guest/uapi_compat.hpp"
#include "guest/vcpu_program.hpp"

namespace luo::guest::kind {

namespace {

// Apart from obj_kvm.cpp's check slots (500, 501): both may be in use on
// one VM, by verify and by this check, in the same boot.
constexpr __u32 kImageSlot = 502;
constexpr __u32 kGmemSlot = 503;

// Not in Debian 12's <linux/kvm.h>.
constexpr __u32 kExitMemoryFault = 39;

// A memslot that is deleted again whatever happens after it was added:
// verify and the next check must find the VM as the VMM left it.
struct Slot {
	int vm_fd;
	__u32 id;
	bool added = false;
	~Slot()
	{
		if (!added)
			return;
		kvm_userspace_memory_region2 r{};
		r.slot = id;
		::ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION2, &r);
	}
};

// vCPU ids cannot be reused in a VM; every run takes a new one.  A VM that
// arrives with vCPUs of its own makes KVM say EEXIST, and the next id is
// tried.
std::atomic<unsigned> next_vcpu_id{0};

Outcome create_vcpu(int vm_fd, UniqueFd &out, unsigned &id)
{
	for (int tries = 0; tries < 64; tries++) {
		id = next_vcpu_id++;
		int fd = ::ioctl(vm_fd, KVM_CREATE_VCPU, static_cast<unsigned long>(id));
		if (fd >= 0) {
			out.reset(fd);
			return Outcome::ok();
		}
		if (errno != EEXIST)
			return errno_fail("KVM_CREATE_VCPU " + std::to_string(id));
	}
	return fail(EEXIST, "KVM_CREATE_VCPU: 64 ids in a row are taken");
}

void flat_segment(kvm_segment &s, __u16 selector, __u8 type)
{
	s = {};
	s.base = 0;
	s.limit = 0xffffffff;
	s.selector = selector;
	s.type = type;
	s.present = 1;
	s.s = 1;
	s.db = 1;
	s.g = 1;
}

// 32-bit protected mode with paging, flat segments, CR3 at the image's
// page directory: nothing the guest must set up itself.
Outcome enter(int vcpu_fd, const vcpu::Image &img)
{
	kvm_sregs sregs;
	if (::ioctl(vcpu_fd, KVM_GET_SREGS, &sregs))
		return errno_fail("KVM_GET_SREGS");
	flat_segment(sregs.cs, 0x08, 0xb);  // execute/read, accessed
	flat_segment(sregs.ds, 0x10, 0x3);  // read/write, accessed
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = 0x80000011;  // PG | ET | PE
	sregs.cr3 = img.cr3;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (::ioctl(vcpu_fd, KVM_SET_SREGS, &sregs))
		return errno_fail("KVM_SET_SREGS (32-bit protected mode, paging on)");
	kvm_regs regs{};
	regs.rip = img.entry;
	regs.rflags = 0x2;
	if (::ioctl(vcpu_fd, KVM_SET_REGS, &regs))
		return errno_fail("KVM_SET_REGS");
	return Outcome::ok();
}

std::string exit_name(__u32 reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "KVM_EXIT_IO";
	case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
	case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
	case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN (a triple fault)";
	case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
	case kExitMemoryFault: return "KVM_EXIT_MEMORY_FAULT";
	default: return "exit reason " + std::to_string(reason);
	}
}

// The memory_fault member of kvm_run's exit union (7.3 uapi), which the
// host headers lack: flags, gpa, size.
std::string memory_fault(const kvm_run *run)
{
	__u64 f[3];
	std::memcpy(f, &run->hw, sizeof(f));
	return " at guest physical " + hex(f[1]) + " (" + std::to_string(f[2]) +
	       " bytes, flags " + hex(f[0]) + ")";
}

// Runs until the program's OUT to kDonePort.  Anything else the vCPU stops
// on is the check failing: the program has no other exit.
Outcome run_to_done(int vcpu_fd, kvm_run *run)
{
	for (;;) {
		if (::ioctl(vcpu_fd, KVM_RUN, 0)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			int err = errno;
			std::string what = "KVM_RUN failed: " + std::string(std::strerror(err)) +
					   ", " + exit_name(run->exit_reason);
			if (run->exit_reason == kExitMemoryFault)
				what += memory_fault(run);
			return fail(err, what);
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == vcpu::kDonePort &&
		    run->io.direction == KVM_EXIT_IO_OUT)
			return Outcome::ok();
		std::string what = "the vCPU stopped with " + exit_name(run->exit_reason);
		if (run->exit_reason == KVM_EXIT_IO)
			what += " on port " + hex(run->io.port);
		if (run->exit_reason == KVM_EXIT_MMIO)
			what += " at " + hex(run->mmio.phys_addr);
		if (run->exit_reason == kExitMemoryFault)
			what += memory_fault(run);
		return fail(EIO, what + " before the program was done");
	}
}

// The checksum each page must give: its pattern where the layout wrote it,
// zeros elsewhere (a hole a guest reads is a new, zeroed folio).
std::uint32_t expected_sum(const protocol::ObjectSpec &spec, std::uint64_t p, bool late_written)
{
	GmemPage cls = gmem_page(spec.seed, p);
	if (cls == GmemPage::hole || (cls == GmemPage::late && !late_written))
		return 0;
	std::vector<std::uint8_t> page(kGmemPage);
	pattern_fill(spec.seed, p * kGmemPage, page.data(), page.size());
	return vcpu::page_checksum(page.data());
}

} // namespace

Outcome guest_memfd_run_vcpu(const protocol::ObjectSpec &spec, int fd, int vm_fd,
			     bool late_written)
{
	const std::string gm = "guest-memfd '" + spec.name + "' (" + fd_str(fd) + ")";
	auto failed = [&](const Outcome &r, const std::string &what) {
		return Outcome::fail(r.result, "vCPU read of " + gm + ": " + what + ": " + r.detail);
	};
	if (spec.size > vcpu::kMaxGmem)
		return fail(EINVAL, "vCPU read of " + gm + ": " + std::to_string(spec.size) +
				    " bytes is more than the guest program reads (" +
				    std::to_string(vcpu::kMaxGmem) + ")");
	// One run at a time: the slot numbers are shared by every VM's run.
	static std::mutex mu;
	std::lock_guard lock(mu);

	const vcpu::Image img = vcpu::build(spec.size);
	Mapping image(img.bytes.size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!image.ok())
		return failed(errno_fail("mmap"), "the program's memory");
	std::memcpy(image.addr, img.bytes.data(), img.bytes.size());
	// The slot's userspace address must be valid; KVM never reads
	// through it for a guest_memfd-only slot.
	Mapping shared(spec.size, PROT_READ, MAP_SHARED, fd);
	if (!shared.ok())
		return failed(errno_fail("mmap"), "the guest_memfd");

	Slot image_slot{vm_fd, kImageSlot};
	kvm_userspace_memory_region2 r{};
	r.slot = kImageSlot;
	r.memory_size = img.bytes.size();
	r.userspace_addr = reinterpret_cast<__u64>(image.addr);
	if (::ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION2, &r))
		return failed(errno_fail("KVM_SET_USER_MEMORY_REGION2"),
			      "slot " + std::to_string(kImageSlot) + " at 0 for the program");
	image_slot.added = true;
	Slot gmem_slot{vm_fd, kGmemSlot};
	r = {};
	r.slot = kGmemSlot;
	r.flags = KVM_MEM_GUEST_MEMFD;
	r.guest_phys_addr = vcpu::kGmemGpa;
	r.memory_size = spec.size;
	r.userspace_addr = reinterpret_cast<__u64>(shared.addr);
	r.guest_memfd = static_cast<__u32>(fd);
	if (::ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION2, &r))
		return failed(errno_fail("KVM_SET_USER_MEMORY_REGION2"),
			      "slot " + std::to_string(kGmemSlot) + " backed by it at " +
				      hex(vcpu::kGmemGpa));
	gmem_slot.added = true;

	UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
	if (!kvm.valid())
		return failed(errno_fail("open /dev/kvm"), "KVM_GET_VCPU_MMAP_SIZE");
	int run_size = ::ioctl(kvm.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < static_cast<int>(sizeof(kvm_run)))
		return failed(errno_fail("KVM_GET_VCPU_MMAP_SIZE"), "the vCPU's kvm_run");
	UniqueFd vcpu_fd;
	unsigned id = 0;
	if (auto c = create_vcpu(vm_fd, vcpu_fd, id); !c)
		return failed(c, "a vCPU of its VM (" + fd_str(vm_fd) + ")");
	Mapping run(run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd.get());
	if (!run.ok())
		return failed(errno_fail("mmap"), "vCPU " + std::to_string(id) + "'s kvm_run");
	if (auto e = enter(vcpu_fd.get(), img); !e)
		return failed(e, "vCPU " + std::to_string(id));
	if (auto d = run_to_done(vcpu_fd.get(), static_cast<kvm_run *>(run.addr)); !d)
		return failed(d, "vCPU " + std::to_string(id));

	const auto *sums = static_cast<const std::uint8_t *>(image.addr) + img.results;
	for (std::uint32_t p = 0; p < img.pages; p++) {
		std::uint32_t got;
		std::memcpy(&got, sums + 4 * p, sizeof(got));
		std::uint32_t want = expected_sum(spec, p, late_written);
		if (got == want)
			continue;
		const char *what = gmem_page_text(gmem_page(spec.seed, p), late_written);
		return fail(EIO, "vCPU " + std::to_string(id) + " read " + gm + " through its page "
				 "tables at " + hex(vcpu::kGmemGpa) + ": page " + std::to_string(p) +
				 " (" + what + ") sums to " + hex(got) + ", expected " + hex(want) +
				 (got == 0 ? " (the guest sees zeros)" : ""));
	}
	return {0, "vCPU " + std::to_string(id) + " read all " + std::to_string(img.pages) +
			   " pages of " + gm + " through its page tables; every checksum matches"};
}

} // namespace luo::guest::kind
