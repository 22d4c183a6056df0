// SPDX-License-Identifier: GPL-2.0-only
//
// The guest program run-vcpu puts in a restored VM.  A VM is what runs it for
// real (tests/e2e/test_vcpu.cpp); here a small interpreter of the
// instructions it uses runs it against a fake guest_memfd, translating every
// access through the image's own page tables, so a wrong jump, a wrong
// register or a table that maps the wrong page fails here first.
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <vector>

#include "guest/vcpu_program.hpp"

using namespace luo::guest;

namespace {

struct Machine {
	const vcpu::Image &img;
	std::vector<std::uint8_t> &gmem;
	std::vector<std::uint8_t> mem;  // the image, writable
	std::map<int, std::uint32_t> r; // 0 eax 1 ecx 2 edx 6 esi 7 edi
	bool zf = false;
	std::optional<std::uint16_t> out_port;
	long steps = 0;

	Machine(const vcpu::Image &i, std::vector<std::uint8_t> &g) : img(i), gmem(g), mem(i.bytes) {}

	std::uint32_t rd32(const std::vector<std::uint8_t> &m, std::uint64_t at)
	{
		if (at + 4 > m.size())
			throw std::runtime_error("read past memory at " + std::to_string(at));
		std::uint32_t v;
		std::memcpy(&v, m.data() + at, 4);
		return v;
	}

	// 32-bit paging, 4 KiB pages: a page directory entry, then a table's.
	std::uint64_t translate(std::uint32_t va)
	{
		std::uint32_t pde = rd32(mem, img.cr3 + 4 * (va >> 22));
		if (!(pde & 1))
			throw std::runtime_error("page fault (no table) at " + std::to_string(va));
		std::uint32_t pte = rd32(mem, (pde & ~0xfffu) + 4 * ((va >> 12) & 0x3ff));
		if (!(pte & 1))
			throw std::runtime_error("page fault (no page) at " + std::to_string(va));
		return (pte & ~0xfffu) | (va & 0xfff);
	}

	std::uint32_t load(std::uint32_t va)
	{
		std::uint64_t pa = translate(va);
		if (pa >= vcpu::kGmemGpa)
			return rd32(gmem, pa - vcpu::kGmemGpa);
		return rd32(mem, pa);
	}

	void store(std::uint32_t va, std::uint32_t v)
	{
		std::uint64_t pa = translate(va);
		if (pa + 4 > mem.size())
			throw std::runtime_error("store outside the image");
		std::memcpy(mem.data() + pa, &v, 4);
	}

	std::uint8_t byte(std::uint32_t &ip) { return mem[translate(ip++)]; }
	std::uint32_t imm32(std::uint32_t &ip)
	{
		std::uint32_t v = 0;
		for (int i = 0; i < 4; i++)
			v |= std::uint32_t(byte(ip)) << (8 * i);
		return v;
	}

	void run()
	{
		std::uint32_t ip = img.entry;
		for (;;) {
			if (++steps > 50'000'000)
				throw std::runtime_error("the program does not stop");
			std::uint8_t op = byte(ip);
			switch (op) {
			case 0xb9: case 0xba: case 0xbe: case 0xbf:  // mov r32, imm32
				r[op - 0xb8] = imm32(ip);
				break;
			case 0x31:  // xor r/m32, r32 (register form only)
			case 0x33: { // xor r32, r/m32 (register or [reg])
				std::uint8_t m = byte(ip);
				int reg = (m >> 3) & 7, rm = m & 7;
				if (m >> 6 == 3) {
					r[op == 0x31 ? rm : reg] ^= r[op == 0x31 ? reg : rm];
					zf = r[op == 0x31 ? rm : reg] == 0;
				} else if (m >> 6 == 0 && op == 0x33) {
					r[reg] ^= load(r[rm]);
					zf = r[reg] == 0;
				} else {
					throw std::runtime_error("xor form not used by the program");
				}
				break;
			}
			case 0xc1: {  // rol r32, imm8
				std::uint8_t m = byte(ip);
				if (m >> 3 != 0x18)
					throw std::runtime_error("0xc1 form not used by the program");
				unsigned n = byte(ip) & 31;
				std::uint32_t &v = r[m & 7];
				v = (v << n) | (v >> ((32 - n) & 31));
				break;
			}
			case 0x83: {  // add r32, imm8
				std::uint8_t m = byte(ip);
				if (m >> 3 != 0x18)
					throw std::runtime_error("0x83 form not used by the program");
				r[m & 7] += static_cast<std::int8_t>(byte(ip));
				zf = r[m & 7] == 0;
				break;
			}
			case 0x48: case 0x49: case 0x4a: case 0x4f:  // dec r32
				zf = --r[op - 0x48] == 0;
				break;
			case 0x75: {  // jnz rel8
				auto rel = static_cast<std::int8_t>(byte(ip));
				if (!zf)
					ip += rel;
				break;
			}
			case 0x89: {  // mov [reg], r32
				std::uint8_t m = byte(ip);
				if (m >> 6 != 0)
					throw std::runtime_error("0x89 form not used by the program");
				store(r[m & 7], r[(m >> 3) & 7]);
				break;
			}
			case 0x66:  // mov dx, imm16
				if (byte(ip) != 0xba)
					throw std::runtime_error("0x66 form not used by the program");
			{
				std::uint32_t lo = byte(ip), hi = byte(ip);
				r[2] = (r[2] & 0xffff0000u) | lo | hi << 8;
				break;
			}
			case 0xee:  // out dx, al
				out_port = static_cast<std::uint16_t>(r[2]);
				return;
			default:
				throw std::runtime_error("opcode " + std::to_string(op) + " at " +
							 std::to_string(ip - 1));
			}
		}
	}

	std::uint32_t result(std::uint32_t page) { return rd32(mem, img.results + 4 * page); }
};

std::vector<std::uint8_t> some_gmem(std::size_t pages)
{
	std::vector<std::uint8_t> g(pages * 4096);
	std::uint32_t x = 12345;
	for (std::size_t p = 0; p < pages; p++)
		if (p % 3)  // every third page stays zeros, as a hole reads
			for (std::size_t i = 0; i < 4096; i++)
				g[p * 4096 + i] = static_cast<std::uint8_t>((x = x * 1103515245 + 12345) >> 16);
	return g;
}

} // namespace

TEST_CASE("the vCPU program sums every page of the guest_memfd as the VMM does", "[vcpu]")
{
	// 1 page; one table less than full; two tables and a bit.
	for (std::size_t pages : {1u, 3u, 1023u, 2100u}) {
		INFO(pages << " pages");
		auto img = vcpu::build(pages * 4096);
		auto gmem = some_gmem(pages);
		Machine m(img, gmem);
		m.run();
		REQUIRE(m.out_port);
		CHECK(*m.out_port == vcpu::kDonePort);
		CHECK(img.pages == pages);
		for (std::uint32_t p = 0; p < pages; p++) {
			INFO("page " << p);
			REQUIRE(m.result(p) == vcpu::page_checksum(gmem.data() + p * 4096));
		}
	}
}

TEST_CASE("a page's checksum tells zeros, moved words and another page apart", "[vcpu]")
{
	std::vector<std::uint8_t> a(4096, 0), b(4096, 0);
	CHECK(vcpu::page_checksum(a.data()) == 0);
	a[100] = 1;
	b[104] = 1;  // the same word, one word later
	CHECK(vcpu::page_checksum(a.data()) != 0);
	CHECK(vcpu::page_checksum(a.data()) != vcpu::page_checksum(b.data()));
	auto g = some_gmem(3);
	CHECK(vcpu::page_checksum(g.data() + 4096) != vcpu::page_checksum(g.data() + 8192));
}

TEST_CASE("the vCPU program refuses a size it cannot read", "[vcpu]")
{
	CHECK_THROWS_AS(vcpu::build(0), std::invalid_argument);
	CHECK_THROWS_AS(vcpu::build(4097), std::invalid_argument);
	CHECK_THROWS_AS(vcpu::build(vcpu::kMaxGmem + 4096), std::invalid_argument);
	CHECK_NOTHROW(vcpu::build(vcpu::kMaxGmem));
}
