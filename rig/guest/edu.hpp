// SPDX-License-Identifier: GPL-2.0-only
//
// QEMU's edu device (docs/specs/edu.rst in QEMU) driven through a VFIO
// device fd: its identity, and its DMA engine, which copies between an IOVA
// and a 4 KiB buffer inside the device.  This is what proves that a restored
// IOAS really maps the restored memfd: the device reads and writes it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "guest/objects.hpp"

namespace luo::guest::edu {

// The device behind a VFIO device fd, reached through VFIO's config space and
// BAR0 regions, whose offsets open() asks for once.
class Device {
public:
	Device(int fd, std::string label) : fd_(fd), dev_(std::move(label)) {}

	Outcome open();

	// Config space says 1234:11e8 and the BAR's identification register
	// says edu 1.0: the fd reaches the device.
	Outcome identity();

	// One page of the memfd `mem` (mapped at `iova` + page offset in the
	// IOAS the device is attached to) copied into the device, overwritten
	// in the memfd, and copied back by the device: the page must hold its
	// pattern again.  On a mismatch the page is put back, so that the
	// memfd's own check does not fail for the device's fault.
	// `iova` maps the memfd's bytes [start, start + length); length 0 is
	// the rest of the file.
	Outcome dma_round_trip(std::uint64_t iova, const protocol::ObjectSpec &mem, int mem_fd,
			       std::uint64_t start = 0, std::uint64_t length = 0);

private:
	template <typename T> Outcome config(std::uint64_t off, T &v) { return io(false, config_, "config space", off, &v, sizeof(v)); }
	template <typename T> Outcome set_config(std::uint64_t off, T v) { return io(true, config_, "config space", off, &v, sizeof(v)); }
	template <typename T> Outcome reg(std::uint64_t off, T &v) { return io(false, bar_, "BAR0", off, &v, sizeof(v)); }
	template <typename T> Outcome set_reg(std::uint64_t off, T v) { return io(true, bar_, "BAR0", off, &v, sizeof(v)); }

	Outcome region(unsigned index, const char *what, std::uint64_t &offset);
	Outcome io(bool write, std::uint64_t base, const char *what, std::uint64_t off, void *v, std::size_t n);
	Outcome transfer(std::uint64_t src, std::uint64_t dst, std::uint64_t cmd);

	int fd_;
	std::string dev_;
	std::uint64_t config_ = 0, bar_ = 0;
};

} // namespace luo::guest::edu
