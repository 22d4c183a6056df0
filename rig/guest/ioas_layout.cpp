// SPDX-License-Identifier: GPL-2.0-only
#include "guest/ioas_layout.hpp"

#include "protocol/plan.hpp"

namespace luo::guest {

namespace {
constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kFirstIova = 0x100000;
// Each later IOAS at k * 32 MiB: every IOVA stays below 256 MiB, the edu
// device's DMA mask (QEMU's hw/misc/edu.c clamps addresses above it).
constexpr std::uint64_t kIoasStride = 32ULL << 20;
constexpr std::uint64_t kAlign = 2ULL << 20;
// A memfd of at most 8 MiB spans at most 14 MiB of an IOAS (its two halves
// and the gap between); two slots fit in one IOAS's stride.
constexpr std::uint64_t kSlot = 16ULL << 20;
static_assert(protocol::kMaxMappedMemfds * kSlot <= kIoasStride);
static_assert(protocol::kMaxLayeredMemfd + kAlign + protocol::kMaxLayeredMemfd / 2 < kSlot);

// The layout of slot 0.
std::vector<IoasMapping> base_layout(unsigned ioas, std::uint64_t size)
{
	std::vector<IoasMapping> out{{1, kFirstIova, 0, size}};
	const std::uint64_t half = size / 2 / kPage * kPage;
	// An unmapped gap of at least 2 MiB after each range.
	const std::uint64_t gap = (size + kAlign - 1) / kAlign * kAlign + kAlign;
	for (unsigned k = 2; k <= ioas; k++) {
		const std::uint64_t base = k * kIoasStride;
		if (!half) {  // one page: nothing to swap
			out.push_back({k, base, 0, size});
			continue;
		}
		out.push_back({k, base, half, size - half});
		out.push_back({k, base + gap, 0, half});
	}
	return out;
}

} // namespace

std::vector<IoasMapping> ioas_layout(unsigned ioas, std::uint64_t size, unsigned slot)
{
	std::vector<IoasMapping> out = base_layout(ioas, size);
	for (auto &m : out)
		m.iova += slot * kSlot;
	return out;
}

} // namespace luo::guest
