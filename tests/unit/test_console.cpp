// SPDX-License-Identifier: GPL-2.0-only
#include <catch2/catch_test_macros.hpp>

#include "host/run/console.hpp"

using namespace luo::host;

TEST_CASE("a clean boot has no findings", "[unit][console]")
{
	CHECK(classify_console("[    0.000000] Linux version 7.3.4\n"
			       "[    1.2] liveupdate: Live Update Orchestrator enabled\n"
			       "[    2.0] reboot: Power down\n")
		      .empty());
}

TEST_CASE("panics, BUGs, Oopses, warnings and KASAN are told apart", "[unit][console]")
{
	std::string log = "[ 1.0] ok\n"
			  "[ 2.0] ------------[ cut here ]------------\n"
			  "[ 2.0] WARNING: CPU: 0 PID: 1 at kernel/liveupdate/luo_file.c:400 luo_x+0x1\n"
			  "[ 3.0] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
			  "[ 3.1] Oops: 0000 [#1] SMP\n"
			  "[ 3.2] BUG: KASAN: use-after-free in luo_retrieve_file\n"
			  "[ 4.0] Kernel panic - not syncing: Fatal exception\n";
	auto f = classify_console(log);
	REQUIRE(f.size() == 5);
	CHECK(f[0].kind == "WARNING");
	CHECK(f[0].line == 2);
	CHECK(f[1].kind == "BUG");
	CHECK(f[2].kind == "Oops");
	CHECK(f[3].kind == "KASAN");
	CHECK(f[4].kind == "panic");
	auto ex = console_excerpt(log, f[1], 1, 1);
	CHECK(ex.find("NULL pointer") != std::string::npos);
	CHECK(ex.find("Kernel panic") == std::string::npos);
}

TEST_CASE("a kmemleak report copied to the console is a finding that names the object",
	  "[unit][console]")
{
	std::string console = "luo-vmm: boot 1\n"
			      "luo-vmm: kmemleak report:\n"
			      "unreferenced object 0xffff888004a1c000 (size 64):\n"
			      "  comm \"init\", pid 1, jiffies 4294893071\n"
			      "  backtrace (crc 0):\n"
			      "    kmemleak_alloc+0x4a/0x80\n";
	auto f = luo::host::classify_console(console);
	REQUIRE(f.size() == 1);
	CHECK(f[0].kind == "kmemleak");
	CHECK(f[0].line == 3);
	CHECK(luo::host::console_excerpt(console, f[0]).find("kmemleak_alloc") != std::string::npos);
}
