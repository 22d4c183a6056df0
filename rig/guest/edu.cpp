// SPDX-License-Identifier: GPL-2.0-only
#include "guest/edu.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
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

} // namespace

Outcome Device::open()
{
	if (auto r = region(VFIO_PCI_CONFIG_REGION_INDEX, "config space", config_); !r)
		return r;
	return region(VFIO_PCI_BAR0_REGION_INDEX, "BAR0", bar_);
}

Outcome Device::region(unsigned index, const char *what, std::uint64_t &offset)
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

Outcome Device::io(bool write, std::uint64_t base, const char *what, std::uint64_t off, void *v,
		   std::size_t n)
{
	const off_t at = static_cast<off_t>(base + off);
	ssize_t done = write ? ::pwrite(fd_, v, n, at) : ::pread(fd_, v, n, at);
	if (done == static_cast<ssize_t>(n))
		return Outcome::ok();
	const std::string op = std::string(write ? "pwrite " : "pread ") + dev_ + " " + what + " at " + hex(off);
	if (done < 0)
		return errno_fail(op);
	return fail(EIO, op + ": short " + (write ? "write" : "read"));
}

// One transfer of a page, polled to the end.
Outcome Device::transfer(std::uint64_t src, std::uint64_t dst, std::uint64_t cmd)
{
	if (auto e = set_reg(kRegDmaSrc, src); !e)
		return e;
	if (auto e = set_reg(kRegDmaDst, dst); !e)
		return e;
	if (auto e = set_reg(kRegDmaCount, kPage); !e)
		return e;
	if (auto e = set_reg(kRegDmaCmd, cmd | kCmdRun); !e)
		return e;
	const auto deadline = std::chrono::steady_clock::now() + kDmaTimeout;
	for (;;) {
		std::uint64_t now = 0;
		if (auto e = reg(kRegDmaCmd, now); !e)
			return e;
		if (!(now & kCmdRun))
			return Outcome::ok();
		if (std::chrono::steady_clock::now() > deadline)
			return fail(ETIMEDOUT, dev_ + ": edu DMA " + hex(src) + " -> " + hex(dst) +
					       " still running after 20 s");
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
}

Outcome Device::identity()
{
	std::uint32_t ids = 0, id = 0;
	if (auto e = config(0, ids); !e)
		return e;
	if (ids != kVendorDevice)
		return fail(ENODEV, dev_ + ": config space vendor/device " + hex(ids) + ", expected " +
				    hex(kVendorDevice) + " (QEMU edu 1234:11e8)");
	if (auto e = reg(kRegId, id); !e)
		return e;
	if (id != kIdentification)
		return fail(ENODEV, dev_ + ": edu identification register " + hex(id) + ", expected " +
				    hex(kIdentification));
	return Outcome::ok();
}

Outcome Device::dma_round_trip(std::uint64_t iova, const protocol::ObjectSpec &mem, int mem_fd,
			       std::uint64_t start, std::uint64_t length)
{
	if (!length)
		length = mem.size - start;
	std::uint16_t command = 0;
	if (auto e = config(4, command); !e)
		return e;
	if (!(command & kBusMaster))
		if (auto e = set_config<std::uint16_t>(4, command | kBusMaster); !e)
			return e;

	// A page chosen by the memfd's seed, so that a mapping at the wrong
	// file offset reads another page's pattern; and another page at each
	// check, so that what an earlier check left in the device's buffer is
	// never this page's pattern (a read that failed quietly cannot pass).
	static std::atomic<std::uint64_t> checks{0};
	const std::uint64_t pages = length / kPage;
	const std::uint64_t off = start + ((mem.seed + checks++) % pages) * kPage;
	const std::uint64_t at = iova + (off - start);
	const std::string where = "page at offset " + hex(off) + " of memfd '" + mem.name + "' (IOVA " +
				  hex(at) + ")";
	std::vector<std::uint8_t> want(kPage), got(kPage), clobber(kPage);
	pattern_fill(mem.seed, off, want.data(), kPage);
	for (std::size_t i = 0; i < kPage; i++)
		clobber[i] = static_cast<std::uint8_t>(~want[i]);

	auto put = [&](const std::vector<std::uint8_t> &b, const char *why) -> Outcome {
		if (::pwrite(mem_fd, b.data(), kPage, static_cast<off_t>(off)) != static_cast<ssize_t>(kPage))
			return errno_fail("pwrite " + where + " (" + why + ")");
		return Outcome::ok();
	};

	if (auto e = transfer(at, kBuffer, 0); !e)
		return e;
	if (auto e = put(clobber, "overwritten between the two transfers"); !e)
		return e;
	Outcome res = transfer(kBuffer, at, kCmdToRam);
	if (res) {
		if (::pread(mem_fd, got.data(), kPage, static_cast<off_t>(off)) != static_cast<ssize_t>(kPage))
			res = errno_fail("pread " + where);
		else if (auto bad = pattern_mismatch(mem.seed, off, got.data(), kPage))
			res = fail(EIO, dev_ + ": edu DMA from " + where + " into the device and back: " +
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
	return {0, dev_ + ": edu DMA from " + where + " into the device and back: 4096 bytes as written"};
}

} // namespace luo::guest::edu
