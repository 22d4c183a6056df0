// SPDX-License-Identifier: GPL-2.0-only
//
// The guest_memfd layout: every object has holes, pages written before
// PRESERVE_FD and pages written after, at places that differ by seed.
#include <catch2/catch_test_macros.hpp>

#include <map>

#include "guest/gmem_layout.hpp"

using namespace luo::guest;

TEST_CASE("a guest_memfd layout has holes, early and late pages, by seed", "[gmem]")
{
	for (std::uint32_t seed : {1u, 2u, 0x9e3779b9u, 0xffffffffu}) {
		INFO("seed " << seed);
		CHECK(gmem_page(seed, 0) == GmemPage::hole);
		CHECK(gmem_page(seed, 1) == GmemPage::late);
		CHECK(gmem_page(seed, 2) == GmemPage::early);
		std::map<GmemPage, int> n;
		for (std::uint64_t p = 0; p < 512; p++)
			n[gmem_page(seed, p)]++;
		// About a half early, an eighth late, three eighths holes.
		CHECK(n[GmemPage::early] > 200);
		CHECK(n[GmemPage::late] > 30);
		CHECK(n[GmemPage::hole] > 130);
		CHECK(gmem_page(seed, 77) == gmem_page(seed, 77));
	}
	int differ = 0;
	for (std::uint64_t p = 3; p < 512; p++)
		differ += gmem_page(1, p) != gmem_page(2, p);
	CHECK(differ > 100);
}
