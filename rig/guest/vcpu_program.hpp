// SPDX-License-Identifier: GPL-2.0-only
//
// The guest program a vCPU of a restored VM runs to read its restored
// guest_memfd: KVM's guest fault path (kvm_gmem_get_pfn), which the mmap
// check in obj_kvm.cpp never reaches, serves every read.  The program runs in
// 32-bit protected mode with paging on, so each read is translated by the
// guest's own page tables and then faulted in by KVM from the guest_memfd.
//
// Pure: the memory image (page tables, code), the entry registers and the
// checksum the VMM expects are computed here and unit-tested; vcpu_run.cpp
// does the ioctls.
#pragma once

#include <cstdint>
#include <vector>

namespace luo::guest::vcpu {

// Where the guest_memfd is put in the guest's physical (and, identity
// mapped, virtual) address space: above the program, below 4 GiB.
constexpr std::uint64_t kGmemGpa = 0x40000000;
// The I/O port the program writes to when it is done.
constexpr std::uint16_t kDonePort = 0x4c55;
// Largest guest_memfd the program reads: its page tables must fit below
// kGmemGpa and its addresses in 32 bits.
constexpr std::uint64_t kMaxGmem = 512ULL << 20;

// The memory image at guest physical address 0, backed by anonymous memory.
struct Image {
	std::vector<std::uint8_t> bytes;  // page-aligned length
	std::uint32_t cr3 = 0;            // the page directory
	std::uint32_t entry = 0;          // EIP
	std::uint32_t results = 0;        // one 32-bit checksum per page, in order
	std::uint32_t pages = 0;          // pages of the guest_memfd read
};

// The image that reads `gmem_size` bytes at kGmemGpa, one checksum per
// 4 KiB page into `results`, then writes to kDonePort.  gmem_size must be a
// non-zero multiple of 4 KiB, at most kMaxGmem.
Image build(std::uint64_t gmem_size);

// The program's checksum of one 4 KiB page: over its 32-bit little-endian
// words in order, sum = rotl(sum, 5) ^ word.  Order matters, so a page with
// its words moved does not pass.
std::uint32_t page_checksum(const std::uint8_t *page);

} // namespace luo::guest::vcpu
