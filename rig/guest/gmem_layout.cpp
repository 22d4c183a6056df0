// SPDX-License-Identifier: GPL-2.0-only
#include "guest/gmem_layout.hpp"

#include "guest/pattern.hpp"

namespace luo::guest {

GmemPage gmem_page(std::uint32_t seed, std::uint64_t page)
{
	if (page == 0)
		return GmemPage::hole;
	if (page == 1)
		return GmemPage::late;
	if (page == 2)
		return GmemPage::early;
	// Mixed, so neighbouring pages get unrelated classes.
	switch (mix((static_cast<std::uint64_t>(seed) << 32) ^ page) % 8) {
	case 0: case 1: case 2: case 3: return GmemPage::early;
	case 4: return GmemPage::late;
	default: return GmemPage::hole;
	}
}

const char *gmem_page_text(GmemPage cls, bool late_written)
{
	switch (cls) {
	case GmemPage::early: return "written at create";
	case GmemPage::late:
		return late_written ? "written after PRESERVE_FD"
				    : "not written yet (it is after PRESERVE_FD)";
	case GmemPage::hole: return "a hole, never written";
	}
	return "?";
}

} // namespace luo::guest
