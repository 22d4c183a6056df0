// SPDX-License-Identifier: GPL-2.0-only
#include "prng.hpp"

namespace luo::core {

std::uint64_t SplitMix64::next()
{
	std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

} // namespace luo::core
