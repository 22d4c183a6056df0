// SPDX-License-Identifier: GPL-2.0-only
//
// The data a memfd or guest_memfd carries across kexec.  Every byte is a pure
// function of (seed, offset), so stage 2 can check a restored object without
// anything but the plan, and a misplaced page (wrong offset) or a page from
// another object (wrong seed) is told apart from an intact one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace luo::guest {

// splitmix64's step, the pattern's mixer; also the guest_memfd layout's.
std::uint64_t mix(std::uint64_t x);

// Fill buf with the pattern for bytes [offset, offset + len).
void pattern_fill(std::uint32_t seed, std::uint64_t offset, void *buf, std::size_t len);

// The pattern byte at one offset, for reporting what was expected.
std::uint8_t pattern_byte(std::uint32_t seed, std::uint64_t offset);

// The offset (absolute, i.e. >= offset) of the first byte of buf that does
// not match the pattern, or nullopt when all of it does.
std::optional<std::uint64_t> pattern_mismatch(std::uint32_t seed, std::uint64_t offset,
					      const void *buf, std::size_t len);

// "byte at offset N (page P) is 0x.., expected 0x.. (seed S)"
std::string describe_mismatch(std::uint32_t seed, std::uint64_t offset, std::uint8_t found);

} // namespace luo::guest
