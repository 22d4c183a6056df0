// SPDX-License-Identifier: GPL-2.0-only
//
// The PRNG behind {"random": N, "seed": S}.  Random case selection must give
// the same cases on every host and every libstdc++/libc++ version, so neither
// std::shuffle nor the std distributions are used: the algorithms below are
// fully specified here and in scenarios/README.md.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace luo::core {

// SplitMix64 (Steele, Lea, Flood 2014), the reference constants.
class SplitMix64 {
public:
	explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
	std::uint64_t next();
	// next() % bound; the modulo bias is irrelevant for bounds this small and
	// keeps the algorithm trivial to reimplement in a script.
	std::uint64_t below(std::uint64_t bound) { return next() % bound; }

private:
	std::uint64_t state_;
};

// Fisher-Yates, from the last index down: for i = n-1 .. 1, swap v[i] with
// v[below(i + 1)].
template <typename T>
void shuffle(std::vector<T> &v, SplitMix64 &rng)
{
	for (std::size_t i = v.size(); i > 1; i--) {
		std::size_t j = rng.below(i);
		std::swap(v[i - 1], v[j]);
	}
}

} // namespace luo::core
