// SPDX-License-Identifier: GPL-2.0-only
#include "guest/gmem_layout.hpp"

namespace luo::guest {

GmemPage gmem_page(std::uint32_t seed, std::uint64_t page)
{
	if (page == 0)
		return GmemPage::hole;
	if (page == 1)
		return GmemPage::late;
	if (page == 2)
		return GmemPage::early;
	// splitmix64's finaliser: neighbouring pages get unrelated classes.
	std::uint64_t x = (static_cast<std::uint64_t>(seed) << 32) ^ page;
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	switch (x % 8) {
	case 0: case 1: case 2: case 3: return GmemPage::early;
	case 4: return GmemPage::late;
	default: return GmemPage::hole;
	}
}

} // namespace luo::guest
