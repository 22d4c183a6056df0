// SPDX-License-Identifier: GPL-2.0-only
//
// KVM VM and guest_memfd.  A guest_memfd is only usable by the VM that created
// it (kvm_gmem_bind() compares gmem->kvm), which is exactly the dependency
// LUO has to restore: verify checks both halves of that.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/gmem_layout.hpp"
#include "guest/kinds.hpp"
#include "guest/pattern.hpp"
#include "guest/sys.hpp"
#include "guest/uapi_compat.hpp"

namespace luo::guest::kind {

namespace {

// Memslots used only for the duration of a check and deleted after, so they
// never coexist; distinct slots and addresses anyway, in case a restored VM
// arrives with slots of its own at the low ones.
constexpr __u32 kVmCheckSlot = 500;
constexpr __u64 kVmCheckGpa = 0x7f0000000ULL;
constexpr __u32 kGmemCheckSlot = 501;
constexpr __u64 kGmemCheckGpa = 0x800000000ULL;

std::string vm_label(const std::string &name, int fd)
{
	return "kvm-vm '" + name + "' (" + fd_str(fd) + ")";
}

std::string gmem_label(const protocol::ObjectSpec &spec, int fd)
{
	return "guest-memfd '" + spec.name + "' (" + fd_str(fd) + ")";
}

Outcome create_vm(UniqueFd &vm)
{
	UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
	if (!kvm.valid())
		return errno_fail("open /dev/kvm");

	// Type 0 (KVM_X86_DEFAULT_VM): the only type every x86 host, and TCG's
	// emulated SVM, offers.
	int fd = ::ioctl(kvm.get(), KVM_CREATE_VM, 0UL);
	if (fd < 0)
		return errno_fail("ioctl(/dev/kvm, KVM_CREATE_VM, 0)");
	vm.reset(fd);
	return Outcome::ok();
}

// Writing a page puts it in the page cache; a page never written stays out.
void write_pages(const protocol::ObjectSpec &spec, void *addr, GmemPage which)
{
	auto *base = static_cast<unsigned char *>(addr);
	for (std::uint64_t p = 0; p < spec.size / kGmemPage; p++)
		if (gmem_page(spec.seed, p) == which)
			pattern_fill(spec.seed, p * kGmemPage, base + p * kGmemPage, kGmemPage);
}

// Every page is where the layout says: written pages in the page cache with
// their pattern; holes (and late pages not yet written) either absent or,
// if a handler chose to restore them as folios, all zeros.  mincore() asks
// the page cache first, so no absent page is faulted in by a read.
Outcome check_pages(const protocol::ObjectSpec &spec, const std::string &gm, const void *addr,
		    bool late_written)
{
	const std::uint64_t pages = spec.size / kGmemPage;
	std::vector<unsigned char> in_cache(pages);
	if (::mincore(const_cast<void *>(addr), spec.size, in_cache.data()))
		return errno_fail("mincore " + gm);
	const auto *base = static_cast<const unsigned char *>(addr);
	for (std::uint64_t p = 0; p < pages; p++) {
		GmemPage cls = gmem_page(spec.seed, p);
		bool written = cls == GmemPage::early || (cls == GmemPage::late && late_written);
		bool present = in_cache[p] & 1;
		const char *what = gmem_page_text(cls, late_written);
		const unsigned char *page = base + p * kGmemPage;
		if (!written) {
			if (!present)
				continue;
			auto data = std::find_if(page, page + kGmemPage, [](unsigned char b) { return b; });
			if (data != page + kGmemPage)
				return fail(EIO, gm + ": page " + std::to_string(p) + " (offset " +
						 std::to_string(p * kGmemPage) + ") is " + what +
						 ", but holds data: byte " + std::to_string(data - base) +
						 " is " + std::to_string(*data));
			continue;
		}
		if (!present)
			return fail(EIO, gm + ": page " + std::to_string(p) + " (offset " +
					 std::to_string(p * kGmemPage) + ") is " + what +
					 ", but is not in the page cache");
		if (auto bad = pattern_mismatch(spec.seed, p * kGmemPage, page, kGmemPage))
			return fail(EIO, gm + " (page " + what + "): " +
					 describe_mismatch(spec.seed, *bad, base[*bad]));
	}
	return Outcome::ok();
}

// VM state the VMM sets and a new VM lacks: the vCPU ID limit
// (KVM_CAP_MAX_VCPU_ID), per VM from its seed.  Set once, KVM then refuses
// any other value with EINVAL and accepts the same one again, so the check
// changes nothing on the VM it passes on.
__u64 vcpu_id_limit(const protocol::ObjectSpec &spec)
{
	return 256 + spec.seed % 768;
}

Outcome set_vcpu_id_limit(int vm_fd, __u64 limit)
{
	kvm_enable_cap cap{};
	cap.cap = KVM_CAP_MAX_VCPU_ID;
	cap.args[0] = limit;
	if (::ioctl(vm_fd, KVM_ENABLE_CAP, &cap))
		return errno_fail("ioctl(KVM_ENABLE_CAP, KVM_CAP_MAX_VCPU_ID, " + std::to_string(limit) + ")");
	return Outcome::ok();
}

Outcome check_vcpu_id_limit(const std::string &vm, int vm_fd, __u64 limit)
{
	kvm_enable_cap cap{};
	cap.cap = KVM_CAP_MAX_VCPU_ID;
	cap.args[0] = limit - 1;
	if (::ioctl(vm_fd, KVM_ENABLE_CAP, &cap) == 0)
		return fail(EIO, vm + " accepted a vCPU ID limit of " + std::to_string(limit - 1) +
				 ": the limit of " + std::to_string(limit) + " the VMM set is gone");
	if (errno != EINVAL)
		return errno_fail("ioctl(" + vm + ", KVM_ENABLE_CAP, KVM_CAP_MAX_VCPU_ID, " +
				  std::to_string(limit - 1) + "): expected EINVAL");
	if (auto r = set_vcpu_id_limit(vm_fd, limit); !r)
		return Outcome::fail(r.result, vm + " refused its own vCPU ID limit: " + r.detail);
	return Outcome::ok();
}

} // namespace

Outcome set_gmem_slot(int vm_fd, std::uint32_t slot, std::uint64_t gpa, int gmem_fd,
		      std::uint64_t size, void *uaddr)
{
	kvm_userspace_memory_region2 r;
	std::memset(&r, 0, sizeof(r));
	r.slot = slot;
	r.flags = KVM_MEM_GUEST_MEMFD;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = reinterpret_cast<__u64>(uaddr);
	r.guest_memfd = static_cast<__u32>(gmem_fd);
	r.guest_memfd_offset = 0;
	if (::ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION2, &r))
		return errno_fail("");
	return Outcome::ok();
}

Outcome delete_slot(int vm_fd, std::uint32_t slot)
{
	kvm_userspace_memory_region2 r;
	std::memset(&r, 0, sizeof(r));
	r.slot = slot;
	if (::ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION2, &r))
		return errno_fail("");
	return Outcome::ok();
}

Outcome kvm_vm_create(const protocol::ObjectSpec &spec, int &out)
{
	UniqueFd vm;
	if (auto r = create_vm(vm); !r)
		return Outcome::fail(r.result, "create kvm-vm '" + spec.name + "': " + r.detail);
	if (auto r = set_vcpu_id_limit(vm.get(), vcpu_id_limit(spec)); !r)
		return Outcome::fail(r.result, vm_label(spec.name, vm.get()) + ": " + r.detail);
	out = vm.release();
	return Outcome::ok();
}

Outcome kvm_vm_fresh(int &out)
{
	UniqueFd vm;
	if (auto r = create_vm(vm); !r)
		return r;
	out = vm.release();
	return Outcome::ok();
}

Outcome kvm_vm_verify(const protocol::ObjectSpec &spec, int vm_fd)
{
	const std::string vm = vm_label(spec.name, vm_fd);
	if (auto r = check_vcpu_id_limit(vm, vm_fd, vcpu_id_limit(spec)); !r)
		return r;

	int cap = ::ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
	if (cap < 0)
		return errno_fail("ioctl(" + vm + ", KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY)");
	if (cap == 0)
		return fail(EOPNOTSUPP, vm + " reports no KVM_CAP_USER_MEMORY");

	// A memslot add/remove goes through the VM's own memslot state and
	// leaves nothing behind, unlike KVM_CREATE_VCPU whose ids cannot be
	// reused: verify must be repeatable on the same VM.
	constexpr std::size_t len = 1 << 16;
	Mapping m;
	m.addr = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m.addr == MAP_FAILED)
		return errno_fail("mmap 64 KiB anonymous memory for a memslot");
	m.len = len;

	kvm_userspace_memory_region r{};
	r.slot = kVmCheckSlot;
	r.guest_phys_addr = kVmCheckGpa;
	r.memory_size = len;
	r.userspace_addr = reinterpret_cast<__u64>(m.addr);
	if (::ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return errno_fail("ioctl(" + vm + ", KVM_SET_USER_MEMORY_REGION, slot " +
				  std::to_string(kVmCheckSlot) + ", 64 KiB anonymous)");
	r.memory_size = 0;
	if (::ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return errno_fail("ioctl(" + vm + ", KVM_SET_USER_MEMORY_REGION) deleting slot " +
				  std::to_string(kVmCheckSlot));
	return Outcome::ok();
}

Outcome guest_memfd_fresh(const protocol::ObjectSpec &spec, int vm_fd, int &out)
{
	kvm_create_guest_memfd args;
	std::memset(&args, 0, sizeof(args));
	args.size = spec.size;
	// MMAP + INIT_SHARED: the only way to put data into a guest_memfd from
	// the host without running a vCPU.
	args.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	int raw = ::ioctl(vm_fd, KVM_CREATE_GUEST_MEMFD, &args);
	if (raw < 0)
		return errno_fail("ioctl(" + vm_label(spec.depends_on, vm_fd) +
				  ", KVM_CREATE_GUEST_MEMFD, size " + std::to_string(spec.size) +
				  ", MMAP|INIT_SHARED) for '" + spec.name + "'");
	out = raw;
	return Outcome::ok();
}

Outcome guest_memfd_create(const protocol::ObjectSpec &spec, int vm_fd, int &out)
{
	int raw = -1;
	if (auto r = guest_memfd_fresh(spec, vm_fd, raw); !r)
		return r;
	UniqueFd fd(raw);

	Mapping m;
	m.addr = ::mmap(nullptr, spec.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
	if (m.addr == MAP_FAILED)
		return errno_fail("mmap " + gmem_label(spec, fd.get()) + " read-write shared, " +
				  std::to_string(spec.size) + " bytes");
	m.len = spec.size;
	write_pages(spec, m.addr, GmemPage::early);
	out = fd.release();
	return Outcome::ok();
}

// Each late page is allocated with fallocate() before it is written: a
// kernel that froze the mapping at PRESERVE_FD refuses that with an errno
// the step reports, where a write fault would kill the VMM with SIGBUS.
Outcome guest_memfd_write_late(const protocol::ObjectSpec &spec, int fd)
{
	for (std::uint64_t p = 0; p < spec.size / kGmemPage; p++)
		if (gmem_page(spec.seed, p) == GmemPage::late &&
		    ::fallocate(fd, FALLOC_FL_KEEP_SIZE, p * kGmemPage, kGmemPage))
			return errno_fail("fallocate page " + std::to_string(p) + " of " +
					  gmem_label(spec, fd) + " after PRESERVE_FD");
	Mapping m;
	m.addr = ::mmap(nullptr, spec.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m.addr == MAP_FAILED)
		return errno_fail("mmap " + gmem_label(spec, fd) + " read-write shared after PRESERVE_FD, " +
				  std::to_string(spec.size) + " bytes");
	m.len = spec.size;
	write_pages(spec, m.addr, GmemPage::late);
	return Outcome::ok();
}

Outcome guest_memfd_verify(const protocol::ObjectSpec &spec, int fd, int vm_fd, bool late_written)
{
	const std::string gm = gmem_label(spec, fd);
	const std::string vm = vm_label(spec.depends_on, vm_fd);

	struct stat st;
	if (::fstat(fd, &st))
		return errno_fail("fstat " + gm);
	if (static_cast<std::uint64_t>(st.st_size) != spec.size)
		return fail(EIO, gm + " has size " + std::to_string(st.st_size) +
			    ", expected " + std::to_string(spec.size));

	Mapping m;
	m.addr = ::mmap(nullptr, spec.size, PROT_READ, MAP_SHARED, fd, 0);
	if (m.addr == MAP_FAILED)
		return errno_fail("mmap " + gm + " read-only shared, " +
				  std::to_string(spec.size) + " bytes");
	m.len = spec.size;
	if (auto r = check_pages(spec, gm, m.addr, late_written); !r)
		return r;

	if (auto r = set_gmem_slot(vm_fd, kGmemCheckSlot, kGmemCheckGpa, fd, spec.size, m.addr); !r)
		return Outcome::fail(r.result, "ioctl(" + vm +
				     ", KVM_SET_USER_MEMORY_REGION2, KVM_MEM_GUEST_MEMFD, slot " +
				     std::to_string(kGmemCheckSlot) + ") backed by " + gm +
				     " (EINVAL here means it belongs to another VM)" + r.detail);
	if (auto r = delete_slot(vm_fd, kGmemCheckSlot); !r)
		return Outcome::fail(r.result, "ioctl(" + vm +
				     ", KVM_SET_USER_MEMORY_REGION2) deleting slot " +
				     std::to_string(kGmemCheckSlot) + " backed by " + gm + r.detail);

	// The other half: a VM that never created this guest_memfd must refuse
	// it, or "bound to its VM" above proves nothing.  One such VM serves the
	// whole boot: creating a VM per check is the slowest step under TCG.
	// Several VMM threads verify at once: the VM is made once, under a
	// lock, and its slot is used by one check at a time.  Unguarded, two
	// threads could both make one, the second closing the first's fd while
	// the first still used its number, which the kernel may meanwhile have
	// given to a file of another case.
	static std::mutex other_mu;
	static UniqueFd other;
	std::lock_guard lock(other_mu);
	if (other.get() < 0) {
		if (auto r = create_vm(other); !r)
			return Outcome::fail(r.result, "create an unrelated VM to check " + gm +
					     " against: " + r.detail);
	}
	if (set_gmem_slot(other.get(), kGmemCheckSlot, kGmemCheckGpa, fd, spec.size, m.addr)) {
		delete_slot(other.get(), kGmemCheckSlot);
		return fail(EXDEV, "an unrelated VM (" + fd_str(other.get()) + ") accepted " + gm +
			    " in KVM_SET_USER_MEMORY_REGION2; it should be bound to " + vm + " only");
	}
	return Outcome::ok();
}

} // namespace luo::guest::kind
