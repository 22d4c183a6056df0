// SPDX-License-Identifier: GPL-2.0-only
//
// Which pages of a guest_memfd the VMM writes, and when.  Fully written
// contents hide two handler bugs: a folio put back at its position in the
// preserved list instead of its file index lands where it belongs when there
// are no holes, and folios collected at PRESERVE_FD instead of at freeze
// miss nothing when nothing is written in between.  So the contents are
// sparse, and some pages are written only after PRESERVE_FD succeeded.
#pragma once

#include <cstdint>

namespace luo::guest {

enum class GmemPage {
	early,  // written at create
	late,   // written right after each successful PRESERVE_FD
	hole,   // never written: must not be in the page cache, before or after
};

constexpr std::uint64_t kGmemPage = 4096;

// A pure function of (seed, page).  Pages 0, 1 and 2 are a hole, a late
// page and an early one, so that every layout of 3 pages or more (the
// scenario parser's minimum) has all three and a shift by one folio shows.
GmemPage gmem_page(std::uint32_t seed, std::uint64_t page);

// What a page of that class is, for messages; a late page is written once
// `late_written` (after PRESERVE_FD, or restored from the kernel before).
const char *gmem_page_text(GmemPage cls, bool late_written);

} // namespace luo::guest
