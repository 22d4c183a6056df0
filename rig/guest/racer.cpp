// SPDX-License-Identifier: GPL-2.0-only
#include "guest/racer.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/ioctl.h>

#include "guest/gmem_layout.hpp"
#include "guest/kinds.hpp"
#include "guest/sys.hpp"
#include "guest/uapi_compat.hpp"

namespace luo::guest {

namespace {

// A call that never returns is a hang the host sees; racers that outlived
// it by this much only load the guest.
constexpr auto kMaxRace = std::chrono::seconds(30);

} // namespace

Racer::Racer(const std::vector<Target> &targets)
{
	for (const auto &t : targets) {
		if (t.fd < 0)
			continue;
		if (t.spec->kind == protocol::ObjectKind::guest_memfd)
			threads_.emplace_back([this, t] { gmem(*t.spec, t.fd); });
		else if (t.spec->kind == protocol::ObjectKind::iommufd)
			threads_.emplace_back([this, fd = t.fd] { iommufd(fd); });
	}
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
	if (said)
		return;
	said = true;
	std::printf("luo-vmm: racer: %s: %s\n", what.c_str(), std::strerror(errno));
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

void Racer::gmem(const protocol::ObjectSpec &spec, int fd)
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
	bool first = true, said = false;
	const std::string what = "guest_memfd '" + spec.name + "' fallocate";
	auto end = std::chrono::steady_clock::now() + kMaxRace;
	while (!stop_ && std::chrono::steady_clock::now() < end && !order.empty()) {
		for (auto p : order) {
			if (stop_)
				break;
			if (!::fallocate(fd, FALLOC_FL_KEEP_SIZE, p * kGmemPage, kGmemPage))
				changes_++;
			else
				failed(said, what);
			if (first) {
				first = false;
				started_++;
			}
		}
		for (auto p : order) {
			if (stop_)
				break;
			if (!::fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
					 p * kGmemPage, kGmemPage))
				changes_++;
			else
				failed(said, what + " punch-hole");
		}
	}
	if (first)
		started_++;
}

void Racer::iommufd(int fd)
{
	bool first = true, said = false;
	// An IOAS that lives only from its ALLOC to its DESTROY is rarely
	// there when a walk looks: keep one alive while the next is made.
	std::uint32_t kept = 0;
	auto destroy = [&](std::uint32_t id) {
		iommu_destroy d{};
		d.size = sizeof(d);
		d.id = id;
		if (!::ioctl(fd, IOMMU_DESTROY, &d))
			changes_++;
		else
			failed(said, "iommufd " + fd_str(fd) + " IOMMU_DESTROY");
	};
	auto end = std::chrono::steady_clock::now() + kMaxRace;
	while (!stop_ && std::chrono::steady_clock::now() < end) {
		iommu_ioas_alloc a{};
		a.size = sizeof(a);
		if (!::ioctl(fd, IOMMU_IOAS_ALLOC, &a)) {
			changes_++;
			if (kept)
				destroy(kept);
			kept = a.out_ioas_id;
		} else {
			failed(said, "iommufd " + fd_str(fd) + " IOMMU_IOAS_ALLOC");
		}
		if (first) {
			first = false;
			started_++;
		}
	}
	// The context is left as the racer found it.
	if (kept)
		destroy(kept);
	if (first)
		started_++;
}

} // namespace luo::guest
