// SPDX-License-Identifier: GPL-2.0-only
#include "guest/pattern.hpp"

#include <bit>
#include <cstdio>
#include <cstring>

namespace luo::guest {

namespace {

// pattern_fill() stores whole words; pattern_byte() defines the byte order.
static_assert(std::endian::native == std::endian::little);

std::uint64_t word(std::uint32_t seed, std::uint64_t index)
{
	return mix((static_cast<std::uint64_t>(seed) << 40) ^ mix(index));
}

} // namespace

// splitmix64: cheap, and neighbouring words share no visible structure, so a
// page shifted by any amount cannot match by accident.
std::uint64_t mix(std::uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

std::uint8_t pattern_byte(std::uint32_t seed, std::uint64_t offset)
{
	return static_cast<std::uint8_t>(word(seed, offset / 8) >> (8 * (offset % 8)));
}

void pattern_fill(std::uint32_t seed, std::uint64_t offset, void *buf, std::size_t len)
{
	auto *p = static_cast<std::uint8_t *>(buf);

	while (len && offset % 8) {
		*p++ = pattern_byte(seed, offset++);
		len--;
	}
	for (; len >= 8; len -= 8, offset += 8, p += 8) {
		std::uint64_t w = word(seed, offset / 8);
		std::memcpy(p, &w, 8);
	}
	while (len--)
		*p++ = pattern_byte(seed, offset++);
}

std::optional<std::uint64_t> pattern_mismatch(std::uint32_t seed, std::uint64_t offset,
					      const void *buf, std::size_t len)
{
	const auto *p = static_cast<const std::uint8_t *>(buf);
	std::uint8_t chunk[4096];

	for (std::size_t done = 0; done < len;) {
		std::size_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);

		pattern_fill(seed, offset + done, chunk, n);
		if (std::memcmp(chunk, p + done, n)) {
			for (std::size_t i = 0; i < n; i++)
				if (chunk[i] != p[done + i])
					return offset + done + i;
		}
		done += n;
	}
	return std::nullopt;
}

std::string describe_mismatch(std::uint32_t seed, std::uint64_t offset, std::uint8_t found)
{
	char buf[128];

	std::snprintf(buf, sizeof(buf), "byte at offset %llu (page %llu) is 0x%02x, expected 0x%02x (seed %u)",
		      static_cast<unsigned long long>(offset),
		      static_cast<unsigned long long>(offset / 4096), found,
		      pattern_byte(seed, offset), seed);
	return buf;
}

} // namespace luo::guest
