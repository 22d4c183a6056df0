// SPDX-License-Identifier: GPL-2.0-only
//
// Where an iommufd with several IOAS maps its memfd.  One IOAS with one
// mapping of a whole file at one IOVA hides a handler that confuses IOAS,
// drops all but the first, or restores a range at the wrong IOVA or file
// offset: so each later IOAS maps the file's two halves, swapped, at IOVAs
// of its own, with unmapped gaps around them so that an extent that grew
// shows too.
#pragma once

#include <cstdint>
#include <vector>

namespace luo::guest {

struct IoasMapping {
	unsigned ioas;        // IOAS ID: the VMM allocates them 1, 2, ... in a new iommufd
	std::uint64_t iova;   // where the range starts in that IOAS
	std::uint64_t start;  // offset of the range in the memfd
	std::uint64_t length;
};

// Every mapping of an iommufd with `ioas` IOAS over a memfd of `size` bytes
// (a non-zero multiple of 4 KiB, at most protocol::kMaxLayeredMemfd when
// ioas > 1 or the iommufd maps several memfds), IOAS by IOAS.  IOAS 1 maps
// it whole at 0x100000, as an iommufd with one IOAS always has.  Ranges of
// different IOAS may share IOVAs.  The iommufd's memfd `slot` (its place
// among the memfds it maps, from 0) has every IOVA 16 MiB * slot higher, so
// that the memfds' ranges never meet and each has its unmapped gap after it.
std::vector<IoasMapping> ioas_layout(unsigned ioas, std::uint64_t size, unsigned slot = 0);

} // namespace luo::guest
