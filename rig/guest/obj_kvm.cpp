// SPDX-License-Identifier: GPL-2.0-only
//
// KVM VM and guest_memfd.  A guest_memfd is only usable by the VM that created
// it (kvm_gmem_bind() compares gmem->kvm), which is exactly the dependency
// LUO has to restore: verify checks both halves of that.
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

struct Mapping {
	void *addr = MAP_FAILED;
	std::size_t len = 0;
	~Mapping()
	{
		if (addr != MAP_FAILED)
			::munmap(addr, len);
	}
};

Outcome set_gmem_slot(int vm_fd, int gmem_fd, __u64 size, void *uaddr)
{
	kvm_userspace_memory_region2 r;
	std::memset(&r, 0, sizeof(r));
	r.slot = kGmemCheckSlot;
	r.flags = KVM_MEM_GUEST_MEMFD;
	r.guest_phys_addr = kGmemCheckGpa;
	r.memory_size = size;
	r.userspace_addr = reinterpret_cast<__u64>(uaddr);
	r.guest_memfd = static_cast<__u32>(gmem_fd);
	r.guest_memfd_offset = 0;
	if (::ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION2, &r))
		return errno_fail("");
	return Outcome::ok();
}

Outcome delete_slot(int vm_fd, __u32 slot)
{
	kvm_userspace_memory_region2 r;
	std::memset(&r, 0, sizeof(r));
	r.slot = slot;
	if (::ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION2, &r))
		return errno_fail("");
	return Outcome::ok();
}

} // namespace

Outcome kvm_vm_create(const protocol::ObjectSpec &spec, int &out)
{
	UniqueFd vm;
	if (auto r = create_vm(vm); !r)
		return Outcome::fail(r.result, "create kvm-vm '" + spec.name + "': " + r.detail);
	out = vm.release();
	return Outcome::ok();
}

Outcome kvm_vm_verify(const protocol::ObjectSpec &spec, int vm_fd)
{
	const std::string vm = vm_label(spec.name, vm_fd);

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

Outcome guest_memfd_create(const protocol::ObjectSpec &spec, int vm_fd, int &out)
{
	const std::string vm = vm_label(spec.depends_on, vm_fd);

	kvm_create_guest_memfd args;
	std::memset(&args, 0, sizeof(args));
	args.size = spec.size;
	// MMAP + INIT_SHARED: the only way to put data into a guest_memfd from
	// the host without running a vCPU.
	args.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	int raw = ::ioctl(vm_fd, KVM_CREATE_GUEST_MEMFD, &args);
	if (raw < 0)
		return errno_fail("ioctl(" + vm + ", KVM_CREATE_GUEST_MEMFD, size " +
				  std::to_string(spec.size) + ", MMAP|INIT_SHARED) for '" +
				  spec.name + "'");
	UniqueFd fd(raw);

	Mapping m;
	m.addr = ::mmap(nullptr, spec.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
	if (m.addr == MAP_FAILED)
		return errno_fail("mmap " + gmem_label(spec, fd.get()) + " read-write shared, " +
				  std::to_string(spec.size) + " bytes");
	m.len = spec.size;
	pattern_fill(spec.seed, 0, m.addr, spec.size);
	out = fd.release();
	return Outcome::ok();
}

Outcome guest_memfd_verify(const protocol::ObjectSpec &spec, int fd, int vm_fd)
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
	if (auto bad = pattern_mismatch(spec.seed, 0, m.addr, spec.size))
		return fail(EIO, gm + ": " + describe_mismatch(spec.seed, *bad,
				static_cast<const unsigned char *>(m.addr)[*bad]));

	if (auto r = set_gmem_slot(vm_fd, fd, spec.size, m.addr); !r)
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
	static UniqueFd other;
	if (other.get() < 0) {
		if (auto r = create_vm(other); !r)
			return Outcome::fail(r.result, "create an unrelated VM to check " + gm +
					     " against: " + r.detail);
	}
	if (set_gmem_slot(other.get(), fd, spec.size, m.addr)) {
		delete_slot(other.get(), kGmemCheckSlot);
		return fail(EXDEV, "an unrelated VM (" + fd_str(other.get()) + ") accepted " + gm +
			    " in KVM_SET_USER_MEMORY_REGION2; it should be bound to " + vm + " only");
	}
	return Outcome::ok();
}

} // namespace luo::guest::kind
