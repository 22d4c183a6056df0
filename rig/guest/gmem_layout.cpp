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

} // namespace luo::guest
