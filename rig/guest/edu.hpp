// SPDX-License-Identifier: GPL-2.0-only
//
// QEMU's edu device (docs/specs/edu.rst in QEMU) driven through a VFIO
// device fd: its identity, and its DMA engine, which copies between an IOVA
// and a 4 KiB buffer inside the device.  This is what proves that a restored
// IOAS really maps the restored memfd: the device reads and writes it.
#pragma once

#include <cstdint>
#include <string>

#include "guest/objects.hpp"

namespace luo::guest::edu {

// Config space says 1234:11e8 and the BAR's identification register says
// edu 1.0: the fd reaches the device, through VFIO's regions.
Outcome identity(int dev_fd, const std::string &dev);

// One page of the memfd `mem` (mapped at `iova` + page offset in the IOAS
// the device is attached to) copied into the device, overwritten in the
// memfd, and copied back by the device: the page must hold its pattern
// again.  On a mismatch the page is put back, so that the memfd's own check
// does not fail for the device's fault.
Outcome dma_round_trip(int dev_fd, const std::string &dev, std::uint64_t iova,
		       const protocol::ObjectSpec &mem, int mem_fd);

} // namespace luo::guest::edu
