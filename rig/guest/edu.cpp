// SPDX-License-Identifier: GPL-2.0-only
#include "guest/edu.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <sys/ioctl.h>
#include <unistd.h>

#include "guest/pattern.hpp"
#include "guest/sys.hpp"
#include "guest/uapi_compat.hpp"

namespace luo::guest::edu {

namespace {

constexpr std::uint32_t kVendorDevice = 0x11e81234;  // config dword 0
constexpr std::uint32_t kIdentification = 0x010000ed;  // edu 1.0
constexpr std::uint64_t kRegId = 0x00;
constexpr std::uint64_t kRegDmaSrc = 0x80;
constexpr std::uint64_t kRegDmaDst = 0x88;
constexpr std::uint64_t kRegDmaCount = 0x90;
constexpr std::uint64_t kRegDmaCmd = 0x98;
constexpr std::uint64_t kCmdRun = 1;
constexpr std::uint64_t kCmdToRam = 2;
// The device's own buffer, in its DMA address space; QEMU aborts on a
// transfer outside it, so every transfer is exactly this page.
constexpr std::uint64_t kBuffer = 0x40000;
constexpr std::uint64_t kPage = 4096;
constexpr std::uint16_t kBusMaster = 1 << 2;
// edu runs a transfer from a 100 ms timer; a loaded TCG host stretches it.
constexpr auto kDmaTimeout = std::chrono::seconds(20);

std::string hex(std::uint64_t v)
{
	char b[24];
	std::snprintf(b, sizeof(b), "0x%llx", static_cast<unsigned long long>(v));
	return b;
}

class Regions {
public:
	Regions(int fd, std::string dev) : fd_(fd), dev_(std::move(dev)) {}

	Outcome open()
	{
		if (auto r = info(VFIO_PCI_CONFIG_REGION_INDEX, "config space", config_); !r)
			return r;
		return info(VFIO_PCI_BAR0_REGION_INDEX, "BAR0", bar_);
	}

	template <typename T> Outcome config(std::uint64_t off, T &v) { return rd(config_, "config space", off, v); }
	template <typename T> Outcome set_config(std::uint64_t off, T v) { return wr(config_, "config space", off, v); }
	template <typename T> Outcome reg(std::uint64_t off, T &v) { return rd(bar_, "BAR0", off, v); }
	template <typename T> Outcome set_reg(std::uint64_t off, T v) { return wr(bar_, "BAR0", off, v); }

private:
	Outcome info(unsigned index, const char *what, std::uint64_t &offset)
	{
		vfio_region_info ri;
		std::memset(&ri, 0, sizeof(ri));
		ri.argsz = sizeof(ri);
		ri.index = index;
		if (::ioctl(fd_, VFIO_DEVICE_GET_REGION_INFO, &ri))
			return errno_fail("ioctl(" + dev_ + ", VFIO_DEVICE_GET_REGION_INFO, " + what + ")");
		offset = ri.offset;
		return Outcome::ok();
	}

	template <typename T>
	Outcome rd(std::uint64_t base, const char *what, std::uint64_t off, T &v)
	{
		ssize_t n = ::pread(fd_, &v, sizeof(v), static_cast<off_t>(base + off));
		if (n == static_cast<ssize_t>(sizeof(v)))
			return Outcome::ok();
		if (n < 0)
			return errno_fail("pread " + dev_ + " " + what + " at " + hex(off));
		return fail(EIO, "pread " + dev_ + " " + what + " at " + hex(off) + ": short read");
	}

	template <typename T>
	Outcome wr(std::uint64_t base, const char *what, std::uint64_t off, T v)
	{
		ssize_t n = ::pwrite(fd_, &v, sizeof(v), static_cast<off_t>(base + off));
		if (n == static_cast<ssize_t>(sizeof(v)))
			return Outcome::ok();
		if (n < 0)
			return errno_fail("pwrite " + dev_ + " " + what + " at " + hex(off));
		return fail(EIO, "pwrite " + dev_ + " " + what + " at " + hex(off) + ": short write");
	}

	int fd_;
	std::string dev_;
	std::uint64_t config_ = 0, bar_ = 0;
};

// One transfer of a page, polled to the end.
Outcome transfer(Regions &r, const std::string &dev, std::uint64_t src, std::uint64_t dst,
		 std::uint64_t cmd)
{
	if (auto e = r.set_reg(kRegDmaSrc, src); !e)
		return e;
	if (auto e = r.set_reg(kRegDmaDst, dst); !e)
		return e;
	if (auto e = r.set_reg(kRegDmaCount, kPage); !e)
		return e;
	if (auto e = r.set_reg(kRegDmaCmd, cmd | kCmdRun); !e)
		return e;
	const auto deadline = std::chrono::steady_clock::now() + kDmaTimeout;
	for (;;) {
		std::uint64_t now = 0;
		if (auto e = r.reg(kRegDmaCmd, now); !e)
			return e;
		if (!(now & kCmdRun))
			return Outcome::ok();
		if (std::chrono::steady_clock::now() > deadline)
			return fail(ETIMEDOUT, dev + ": edu DMA " + hex(src) + " -> " + hex(dst) +
					       " still running after 20 s");
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
}

} // namespace

Outcome identity(int dev_fd, const std::string &dev)
{
	Regions r(dev_fd, dev);
	if (auto e = r.open(); !e)
		return e;
	std::uint32_t ids = 0, id = 0;
	if (auto e = r.config(0, ids); !e)
		return e;
	if (ids != kVendorDevice)
		return fail(ENODEV, dev + ": config space vendor/device " + hex(ids) + ", expected " +
				    hex(kVendorDevice) + " (QEMU edu 1234:11e8)");
	if (auto e = r.reg(kRegId, id); !e)
		return e;
	if (id != kIdentification)
		return fail(ENODEV, dev + ": edu identification register " + hex(id) + ", expected " +
				    hex(kIdentification));
	return Outcome::ok();
}

Outcome dma_round_trip(int dev_fd, const std::string &dev, std::uint64_t iova,
		       const protocol::ObjectSpec &mem, int mem_fd)
{
	Regions r(dev_fd, dev);
	if (auto e = r.open(); !e)
		return e;
	std::uint16_t command = 0;
	if (auto e = r.config(4, command); !e)
		return e;
	if (!(command & kBusMaster))
		if (auto e = r.set_config<std::uint16_t>(4, command | kBusMaster); !e)
			return e;

	// A page chosen by the memfd's seed, so that a mapping at the wrong
	// file offset reads another page's pattern; and another page at each
	// check, so that what an earlier check left in the device's buffer is
	// never this page's pattern (a read that failed quietly cannot pass).
	static std::atomic<std::uint64_t> checks{0};
	const std::uint64_t pages = mem.size / kPage;
	const std::uint64_t off = ((mem.seed + checks++) % pages) * kPage;
	const std::string where = "page at offset " + hex(off) + " of memfd '" + mem.name + "' (IOVA " +
				  hex(iova + off) + ")";
	std::vector<std::uint8_t> want(kPage), got(kPage), clobber(kPage);
	pattern_fill(mem.seed, off, want.data(), kPage);
	for (std::size_t i = 0; i < kPage; i++)
		clobber[i] = static_cast<std::uint8_t>(~want[i]);

	auto put = [&](const std::vector<std::uint8_t> &b, const char *why) -> Outcome {
		if (::pwrite(mem_fd, b.data(), kPage, static_cast<off_t>(off)) != static_cast<ssize_t>(kPage))
			return errno_fail("pwrite " + where + " (" + why + ")");
		return Outcome::ok();
	};

	if (auto e = transfer(r, dev, iova + off, kBuffer, 0); !e)
		return e;
	if (auto e = put(clobber, "overwritten between the two transfers"); !e)
		return e;
	Outcome res = transfer(r, dev, kBuffer, iova + off, kCmdToRam);
	if (res) {
		if (::pread(mem_fd, got.data(), kPage, static_cast<off_t>(off)) != static_cast<ssize_t>(kPage))
			res = errno_fail("pread " + where);
		else if (auto bad = pattern_mismatch(mem.seed, off, got.data(), kPage))
			res = fail(EIO, dev + ": edu DMA from " + where + " into the device and back: " +
					describe_mismatch(mem.seed, *bad, got[*bad - off]) +
					(got == clobber ? " (the page was never written back: the IOVA does "
							  "not reach the memfd)"
							: ""));
	}
	if (!res) {
		if (auto e = put(want, "put back after the failed DMA check"); !e)
			res.detail += "; " + e.detail;
		return res;
	}
	// Said on success too: the report shows that the device reached it.
	return {0, dev + ": edu DMA from " + where + " into the device and back: 4096 bytes as written"};
}

} // namespace luo::guest::edu
