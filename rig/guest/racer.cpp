// SPDX-License-Identifier: GPL-2.0-only
#include "guest/racer.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest/gmem_layout.hpp"
#include "guest/kinds.hpp"
#include "guest/luo.hpp"
#include "guest/sys.hpp"

namespace luo::guest {

namespace {

// A call that never returns is a hang the host sees; racers that outlived
// it by this much only load the guest.
constexpr auto kMaxRace = std::chrono::seconds(30);

constexpr std::uint64_t kPage = 4096;
// Where the racer's IOAS gets its pages: far above every IOVA the VMM's
// layout uses (guest/ioas_layout.hpp), one 16 MiB slot per memfd.
constexpr std::uint64_t kRaceIova = 1ull << 32;
constexpr std::uint64_t kRaceSlot = 16ull << 20;

// The memslot the guest_memfd racer binds: neither the check's nor the
// vCPU run's (obj_kvm.cpp, obj_kvm_vcpu.cpp), at a GPA of its own.
constexpr std::uint32_t kRaceMemslot = 510;
constexpr std::uint64_t kRaceGpa = 0x1000000000ULL;

// Session names of every racer of this boot: two raced steps of different
// cases may run at once.
std::atomic<std::uint32_t> next_session{0};

} // namespace

Racer::Racer(const std::vector<Target> &targets, int luo_device)
{
	for (const auto &t : targets) {
		if (t.waiting && t.spec->kind == protocol::ObjectKind::vfio_cdev &&
		    !t.pci_addr.empty()) {
			threads_.emplace_back([this, t] { waiting_device(*t.spec, t.pci_addr); });
			continue;
		}
		if (t.fd < 0)
			continue;
		if (t.spec->kind == protocol::ObjectKind::guest_memfd)
			threads_.emplace_back([this, t] { gmem(*t.spec, t.fd, t.vm_fd); });
		else if (t.spec->kind == protocol::ObjectKind::iommufd)
			threads_.emplace_back([this, t] { iommufd(*t.spec, t.fd, t.mapped); });
		else if (t.spec->kind == protocol::ObjectKind::vfio_cdev && !t.pci_addr.empty())
			threads_.emplace_back([this, t] { device(*t.spec, t.pci_addr); });
	}
	if (luo_device >= 0)
		threads_.emplace_back([this, luo_device] { sessions(luo_device); });
}

Racer::~Racer()
{
	stop();
}

void Racer::wait_started()
{
	while (started_.load() < threads_.size())
		std::this_thread::yield();
}

void Racer::failed(bool &said, const std::string &what)
{
	said_once(said, what + ": " + std::strerror(errno));
}

void Racer::said_once(bool &said, const std::string &line)
{
	refused_++;
	if (said)
		return;
	said = true;
	std::printf("luo-vmm: racer: %s\n", line.c_str());
	std::fflush(stdout);
}

std::uint32_t Racer::stop()
{
	stop_ = true;
	for (auto &t : threads_)
		if (t.joinable())
			t.join();
	return changes_.load();
}

void Racer::rebind(const protocol::ObjectSpec &spec, int fd, int vm_fd, void *map, bool &said)
{
	const std::string what = "guest_memfd '" + spec.name + "' memslot " +
				 std::to_string(kRaceMemslot) + " of its VM " + fd_str(vm_fd) +
				 " KVM_SET_USER_MEMORY_REGION2";
	if (auto r = kind::set_gmem_slot(vm_fd, kRaceMemslot, kRaceGpa, fd, spec.size, map); !r) {
		said_once(said, what + r.detail);
		return;
	}
	changes_++;
	if (auto r = kind::delete_slot(vm_fd, kRaceMemslot); r)
		changes_++;
	else
		said_once(said, what + " deleting it" + r.detail);
}

void Racer::gmem(const protocol::ObjectSpec &spec, int fd, int vm_fd)
{
	std::vector<std::uint64_t> holes;
	for (std::uint64_t p = 0; p < spec.size / kGmemPage; p++)
		if (gmem_page(spec.seed, p) == GmemPage::hole)
			holes.push_back(p);
	// Far ends first, then inwards: a snapshot that walks the file from
	// its start meets new folios ahead of it as well as behind.
	std::vector<std::uint64_t> order;
	for (size_t lo = 0, hi = holes.size(); lo < hi;) {
		order.push_back(holes[--hi]);
		if (lo < hi)
			order.push_back(holes[lo++]);
	}
	// A guest's fault adds folios by another path than fallocate(), one a
	// handler's freeze must order itself against as well.  The write goes
	// through /proc/self/mem, which faults the page in as a write would
	// but returns EIO where the write would be a SIGBUS (a frozen file),
	// so the VMM lives on; the rig's kernel has no madvise().
	void *map = ::mmap(nullptr, spec.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	UniqueFd mem(::open("/proc/self/mem", O_RDWR | O_CLOEXEC));
	bool first = true, said = false, said_fault = false, said_punch = false, said_slot = false;
	const std::string what = "guest_memfd '" + spec.name + "'";
	if (map == MAP_FAILED)
		failed(said_fault, what + " mmap");
	else if (mem.get() < 0)
		failed(said_fault, "open /proc/self/mem");
	auto punch = [&] {
		for (auto p : order) {
			if (stop_)
				break;
			if (!::fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
					 p * kGmemPage, kGmemPage))
				changes_++;
			else
				failed(said_punch, what + " fallocate punch-hole");
		}
	};
	auto end = std::chrono::steady_clock::now() + kMaxRace;
	while (!stop_ && std::chrono::steady_clock::now() < end && !order.empty()) {
		for (auto p : order) {
			if (stop_)
				break;
			if (!::fallocate(fd, FALLOC_FL_KEEP_SIZE, p * kGmemPage, kGmemPage))
				changes_++;
			else
				failed(said, what + " fallocate");
			if (first) {
				first = false;
				started_++;
			}
		}
		punch();
		if (map == MAP_FAILED)
			continue;
		if (vm_fd >= 0 && !stop_)
			rebind(spec, fd, vm_fd, map, said_slot);
		if (mem.get() < 0)
			continue;
		// A zero byte: the hole's page reads zero as before.
		const char zero = 0;
		for (auto p : order) {
			if (stop_)
				break;
			const auto at = reinterpret_cast<std::uintptr_t>(map) + p * kGmemPage;
			if (::pwrite(mem.get(), &zero, 1, static_cast<off_t>(at)) == 1)
				changes_++;
			else
				failed(said_fault, what + " write fault (through /proc/self/mem)");
		}
		punch();
	}
	if (map != MAP_FAILED)
		::munmap(map, spec.size);
	if (first)
		started_++;
}

void Racer::reshape(int fd, const std::string &what, unsigned ioas, const Mapped &mapped,
		    bool &said)
{
	for (const auto &fm : file_mappings(mapped, true)) {
		// The VMM's whole-file mapping of each memfd, in its first IOAS.
		const MappedFile &f = *fm.file;
		if (fm.at.ioas != kind::kVmmIoas || fm.at.start != 0 || fm.at.length < 2 * kPage)
			continue;
		const std::uint64_t base = kRaceIova + f.slot * kRaceSlot;
		// The file's last page, at an offset no VMM mapping starts at.
		const IoasMapping last{ioas, base, fm.at.length - kPage, kPage};
		auto r = kind::map_memfd(fd, what, f, last);
		if (r)
			changes_++;
		else
			said_once(said, r.detail);
		// The second page of the VMM's mapping: a copy shares the VMM's
		// pages from the middle of its range.
		if (auto c = kind::ioas_copy(fd, what, fm.at.ioas, fm.at.iova + kPage, ioas,
					     base + 2 * kPage, kPage))
			changes_++;
		else
			said_once(said, c.detail);
		if (!r)
			continue;
		if (auto u = kind::ioas_unmap(fd, what, ioas, base, kPage))
			changes_++;
		else
			said_once(said, u.detail);
	}
}

std::uint32_t Racer::carried_over(int fd, const std::string &name, const Mapped &mapped)
{
	const std::string what = "iommufd '" + name + "' (" + fd_str(fd) + ")";
	// IOAS and HWPT IDs of a restored context are small: the VMM's few
	// objects, and at most two IOAS of each racer.
	constexpr unsigned kMaxId = 64;
	unsigned scratch = 0;
	if (!kind::ioas_alloc(fd, name, scratch))
		return 0;
	std::uint32_t found = 0;
	for (unsigned id = 1; id <= kMaxId; id++) {
		if (id == scratch)
			continue;
		for (const auto &f : mapped.files) {
			const std::uint64_t copied = kRaceIova + f.slot * kRaceSlot + 2 * kPage;
			// ENOENT: no IOAS of that ID, or nothing mapped there.
			if (!kind::ioas_copy(fd, what, id, copied, scratch, copied, kPage))
				continue;
			found++;
			kind::ioas_unmap(fd, what, scratch, copied, kPage);
			break;
		}
	}
	kind::ioas_destroy(fd, what, scratch, "counting the racers' IOAS");
	return found;
}

void Racer::iommufd(const protocol::ObjectSpec &spec, int fd, const Mapped &mapped)
{
	bool first = true, said = false, said_map = false;
	// An IOAS that lives only from its ALLOC to its DESTROY is rarely
	// there when a walk looks: keep one alive while the next is made.
	// The copy it may still hold goes with it.
	unsigned kept = 0;
	const std::string what = "iommufd '" + spec.name + "' (" + fd_str(fd) + ")";
	// IOMMU_DESTROY refuses (EBUSY) an object another thread holds for the
	// moment, a walk of the context such as a freeze's among them: that is
	// the uAPI's answer while the IOAS is in use, not a refused change, and
	// the racer tries again later.
	std::vector<unsigned> held;
	auto destroy = [&](unsigned id) {
		auto r = kind::ioas_destroy(fd, what, id, "the racer's");
		if (r)
			changes_++;
		else if (r.result == -EBUSY)
			held.push_back(id);
		else
			said_once(said, r.detail);
	};
	auto destroy_held = [&] {
		auto ids = std::move(held);
		held.clear();
		for (auto id : ids)
			destroy(id);
	};
	auto end = std::chrono::steady_clock::now() + kMaxRace;
	while (!stop_ && std::chrono::steady_clock::now() < end) {
		destroy_held();
		unsigned made = 0;
		if (auto r = kind::ioas_alloc(fd, spec.name, made)) {
			changes_++;
			if (kept)
				destroy(kept);
			kept = made;
			reshape(fd, what, kept, mapped, said_map);
		} else {
			said_once(said, r.detail);
		}
		if (first) {
			first = false;
			started_++;
		}
	}
	// The context is left as the racer found it.
	if (kept)
		destroy(kept);
	for (int tries = 0; !held.empty() && tries < 100; tries++) {
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
		destroy_held();
	}
	if (!held.empty())
		said_once(said, what + ": IOMMU_DESTROY of the racer's IOAS " +
				std::to_string(held.front()) + " stayed busy (EBUSY) for a second "
				"after the call");
	if (first)
		started_++;
}

void Racer::device(const protocol::ObjectSpec &spec, const std::string &pci_addr)
{
	bool first = true, said = false;
	auto end = std::chrono::steady_clock::now() + kMaxRace;
	while (!stop_ && std::chrono::steady_clock::now() < end) {
		int raw = -1;
		if (auto r = kind::vfio_fresh(spec, pci_addr, raw)) {
			changes_++;
			device_changes_++;
			if (!::close(raw)) {
				changes_++;
				device_changes_++;
			} else {
				failed(said, "close of another file of vfio-cdev '" + spec.name + "'");
			}
		} else {
			said_once(said, r.detail);
		}
		if (first) {
			first = false;
			started_++;
		}
	}
	if (first)
		started_++;
}

void Racer::open_early(const std::string &path, const std::string &what,
			std::chrono::microseconds hold, bool &said)
{
	int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		std::this_thread::sleep_for(hold);
		::close(fd);
	} else if (errno != EBUSY) {
		failed(said, "open of " + path + " (" + what + ")");
		return;
	}
	waiting_opens_++;
}

void Racer::waiting_device(const protocol::ObjectSpec &spec, const std::string &pci_addr)
{
	bool first = true, said_group = false, said_cdev = false;
	std::string group, cdev;
	if (auto r = kind::vfio_group_path(pci_addr, group); !r)
		said_once(said_group, "vfio-cdev '" + spec.name + "': " + r.detail);
	if (auto r = kind::vfio_cdev_path(pci_addr, cdev); !r)
		said_once(said_cdev, "vfio-cdev '" + spec.name + "': " + r.detail);
	auto end = std::chrono::steady_clock::now() + kMaxRace;
	while (!stop_ && std::chrono::steady_clock::now() < end && !(group.empty() && cdev.empty())) {
		// A group that opens is kept open a while, as a process that
		// uses it would: a retrieve that cannot bind the device while
		// the group is open then meets it nearly every time.
		if (!group.empty())
			open_early(group, "the group of vfio-cdev '" + spec.name + "'",
				   std::chrono::milliseconds(1), said_group);
		if (!cdev.empty())
			open_early(cdev, "the cdev of vfio-cdev '" + spec.name + "'",
				   std::chrono::microseconds(0), said_cdev);
		if (first) {
			first = false;
			started_++;
		}
	}
	if (first)
		started_++;
}

void Racer::sessions(int luo_device)
{
	bool first = true, said = false;
	auto end = std::chrono::steady_clock::now() + kMaxRace;
	while (!stop_ && std::chrono::steady_clock::now() < end) {
		const std::uint32_t n = next_session++;
		const std::string name = "luo-rig-race-" + std::to_string(n);
		int s = luo::create_session(luo_device, name);
		if (s >= 0) {
			session_changes_++;
			UniqueFd m(::memfd_create("luo-rig-race", MFD_CLOEXEC));
			if (!m.valid()) {
				failed(said, "session racer memfd_create for " + name);
			} else if (::ftruncate(m.get(), kPage)) {
				failed(said, "session racer ftruncate of its memfd for " + name);
			} else if (int rc = luo::preserve(s, m.get(), n); rc == 0) {
				session_changes_++;
			} else {
				errno = -rc;
				failed(said, "session racer PRESERVE_FD in " + name);
			}
			m.reset();
			// Unpreserves the memfd and frees the session.
			if (!::close(s))
				session_changes_++;
		} else {
			errno = -s;
			failed(said, "session racer CREATE_SESSION " + name);
		}
		if (first) {
			first = false;
			started_++;
		}
	}
	if (first)
		started_++;
}

} // namespace luo::guest
