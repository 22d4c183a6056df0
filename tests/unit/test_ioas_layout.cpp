// SPDX-License-Identifier: GPL-2.0-only
//
// The mappings of an iommufd with several IOAS: the first IOAS as an
// iommufd with one has it, each later one two swapped halves with unmapped
// gaps, every IOVA within the edu device's DMA mask.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>

#include "guest/ioas_layout.hpp"
#include "protocol/plan.hpp"

using namespace luo::guest;

TEST_CASE("one IOAS maps the memfd whole at 0x100000, as it always has", "[iommufd]")
{
	auto l = ioas_layout(1, 65536);
	REQUIRE(l.size() == 1);
	CHECK(l[0].ioas == 1);
	CHECK(l[0].iova == 0x100000);
	CHECK(l[0].start == 0);
	CHECK(l[0].length == 65536);
}

TEST_CASE("each later IOAS maps both halves, swapped, with gaps, below the DMA mask", "[iommufd]")
{
	for (std::uint64_t size : {std::uint64_t(4096), std::uint64_t(65536), std::uint64_t(3 * 4096), luo::protocol::kMaxLayeredMemfd}) {
		INFO(size << " bytes");
		auto l = ioas_layout(luo::protocol::kMaxIoas, size);
		for (unsigned k = 1; k <= luo::protocol::kMaxIoas; k++) {
			INFO("IOAS " << k);
			std::uint64_t covered = 0;
			std::vector<IoasMapping> mine;
			for (const auto &m : l)
				if (m.ioas == k)
					mine.push_back(m);
			REQUIRE_FALSE(mine.empty());
			for (const auto &m : mine) {
				covered += m.length;
				CHECK(m.iova % 4096 == 0);
				CHECK(m.start % 4096 == 0);
				CHECK(m.length % 4096 == 0);
				CHECK(m.start + m.length <= size);
				// QEMU's edu device clamps DMA addresses to 28 bits.
				CHECK(m.iova + m.length <= (1ULL << 28));
			}
			CHECK(covered == size);  // the whole file, once
			if (k > 1 && size > 4096) {
				REQUIRE(mine.size() == 2);
				// Swapped: the lower IOVA holds the upper half.
				CHECK(mine[0].iova < mine[1].iova);
				CHECK(mine[0].start > mine[1].start);
				// A page past each range is unmapped in its IOAS.
				CHECK(mine[0].iova + mine[0].length + 4096 <= mine[1].iova);
			}
		}
		// No two ranges share an IOVA, in any IOAS: one scratch IOAS
		// can hold a copy of each.
		for (std::size_t i = 0; i < l.size(); i++)
			for (std::size_t j = i + 1; j < l.size(); j++) {
				bool apart = l[i].iova + l[i].length + 4096 <= l[j].iova ||
					     l[j].iova + l[j].length + 4096 <= l[i].iova;
				CHECK(apart);
			}
	}
}

TEST_CASE("an iommufd's second memfd takes IOVAs of its own in every IOAS", "[iommufd]")
{
	const std::uint64_t size = luo::protocol::kMaxLayeredMemfd;
	std::vector<IoasMapping> all;
	for (unsigned slot = 0; slot < luo::protocol::kMaxMappedMemfds; slot++) {
		auto l = ioas_layout(luo::protocol::kMaxIoas, size, slot);
		CHECK(l.size() == ioas_layout(luo::protocol::kMaxIoas, size).size());
		all.insert(all.end(), l.begin(), l.end());
	}
	CHECK(ioas_layout(1, 65536, 0)[0].iova == 0x100000);
	// Within an IOAS no two ranges of any memfd touch (a page past each
	// stays unmapped), and every IOVA is within the DMA mask.
	for (std::size_t i = 0; i < all.size(); i++) {
		CHECK(all[i].iova + all[i].length <= (1ULL << 28));
		for (std::size_t j = i + 1; j < all.size(); j++) {
			if (all[i].ioas != all[j].ioas)
				continue;
			INFO("IOAS " << all[i].ioas << ": " << all[i].iova << " and " << all[j].iova);
			CHECK((all[i].iova + all[i].length + 4096 <= all[j].iova ||
			       all[j].iova + all[j].length + 4096 <= all[i].iova));
		}
	}
}
