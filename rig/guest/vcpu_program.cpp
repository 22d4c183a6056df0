// SPDX-License-Identifier: GPL-2.0-only
#include "guest/vcpu_program.hpp"

#include <cstring>
#include <stdexcept>

namespace luo::guest::vcpu {

namespace {

constexpr std::uint32_t kPage = 4096;
constexpr std::uint32_t kPageDir = 0x1000;
constexpr std::uint32_t kLowTable = 0x2000;  // identity maps the image
constexpr std::uint32_t kGmemTables = 0x3000;
constexpr std::uint32_t kPresentWritable = 0x3;

void put32(std::vector<std::uint8_t> &m, std::uint32_t at, std::uint32_t v)
{
	for (int i = 0; i < 4; i++)
		m[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint32_t round_up(std::uint32_t v)
{
	return (v + kPage - 1) / kPage * kPage;
}

// The program, hand-assembled for 32-bit protected mode.  Each jump is
// relative, so only the three immediates depend on the image.
std::vector<std::uint8_t> code(std::uint32_t gmem, std::uint32_t pages, std::uint32_t results)
{
	std::vector<std::uint8_t> c;
	auto imm32 = [&](std::uint8_t op, std::uint32_t v) {
		c.push_back(op);
		for (int i = 0; i < 4; i++)
			c.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
	};
	imm32(0xbe, gmem);     // mov esi, gmem
	imm32(0xb9, pages);    // mov ecx, pages
	imm32(0xbf, results);  // mov edi, results
	const std::uint8_t loop[] = {
		// page:
		0x31, 0xc0,                    // xor eax, eax
		0xba, 0x00, 0x04, 0x00, 0x00,  // mov edx, 1024 (words a page)
		// word:
		0xc1, 0xc0, 0x05,              // rol eax, 5
		0x33, 0x06,                    // xor eax, [esi]
		0x83, 0xc6, 0x04,              // add esi, 4
		0x4a,                          // dec edx
		0x75, 0xf5,                    // jnz word
		0x89, 0x07,                    // mov [edi], eax
		0x83, 0xc7, 0x04,              // add edi, 4
		0x49,                          // dec ecx
		0x75, 0xe6,                    // jnz page
		0x66, 0xba,                    // mov dx, kDonePort
		static_cast<std::uint8_t>(kDonePort & 0xff),
		static_cast<std::uint8_t>(kDonePort >> 8),
		0xee,                          // out dx, al
		0xf4,                          // hlt
	};
	c.insert(c.end(), std::begin(loop), std::end(loop));
	return c;
}

} // namespace

Image build(std::uint64_t gmem_size)
{
	if (gmem_size == 0 || gmem_size % kPage || gmem_size > kMaxGmem)
		throw std::invalid_argument("vcpu::build: a guest_memfd of " +
					    std::to_string(gmem_size) +
					    " bytes (need a multiple of 4096, at most " +
					    std::to_string(kMaxGmem) + ")");
	Image img;
	img.pages = static_cast<std::uint32_t>(gmem_size / kPage);
	const std::uint32_t tables = (img.pages + 1023) / 1024;
	img.cr3 = kPageDir;
	img.entry = kGmemTables + tables * kPage;
	img.results = img.entry + kPage;
	const std::uint32_t size = round_up(img.results + img.pages * 4);
	img.bytes.assign(size, 0);

	// The image itself, identity mapped by the first table (4 MiB).
	put32(img.bytes, kPageDir, kLowTable | kPresentWritable);
	for (std::uint32_t p = 0; p < size / kPage; p++)
		put32(img.bytes, kLowTable + 4 * p, p * kPage | kPresentWritable);
	// The guest_memfd, identity mapped at kGmemGpa, page by page: a read
	// the tables do not map would fault in the guest, not in KVM.
	const std::uint32_t first_pde = static_cast<std::uint32_t>(kGmemGpa >> 22);
	for (std::uint32_t t = 0; t < tables; t++)
		put32(img.bytes, kPageDir + 4 * (first_pde + t),
		      (kGmemTables + t * kPage) | kPresentWritable);
	for (std::uint32_t p = 0; p < img.pages; p++)
		put32(img.bytes, kGmemTables + 4 * p,
		      static_cast<std::uint32_t>(kGmemGpa + std::uint64_t(p) * kPage) |
			      kPresentWritable);

	auto prog = code(static_cast<std::uint32_t>(kGmemGpa), img.pages, img.results);
	std::memcpy(img.bytes.data() + img.entry, prog.data(), prog.size());
	return img;
}

std::uint32_t page_checksum(const std::uint8_t *page)
{
	std::uint32_t sum = 0;
	for (std::uint32_t i = 0; i < kPage; i += 4) {
		std::uint32_t w = page[i] | page[i + 1] << 8 | page[i + 2] << 16 |
				  static_cast<std::uint32_t>(page[i + 3]) << 24;
		sum = (sum << 5 | sum >> 27) ^ w;
	}
	return sum;
}

} // namespace luo::guest::vcpu
