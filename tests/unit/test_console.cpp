// SPDX-License-Identifier: GPL-2.0-only
#include <catch2/catch_test_macros.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>

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
			  "[ 3.15] RIP: 0010:luo_y+0x10/0x20\n"
			  "[ 3.2] BUG: KASAN: use-after-free in luo_retrieve_file\n"
			  "[ 4.0] Kernel panic - not syncing: Fatal exception\n";
	auto f = classify_console(log);
	REQUIRE(f.size() == 4);
	CHECK(f[0].kind == "WARNING");
	CHECK(f[0].line == 2); // the report begins at "cut here"
	CHECK(f[0].title == "WARNING in luo_x");
	CHECK(f[1].kind == "BUG"); // its Oops line is part of it
	CHECK(f[1].title == "BUG: unable to handle kernel NULL pointer dereference in luo_y");
	CHECK(f[2].kind == "KASAN");
	CHECK(f[3].kind == "panic");
	CHECK(f[3].title == "kernel panic: Fatal exception");
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
	CHECK(f[0].title == "memory leak in corrupted"); // only allocator frames shown
	CHECK(luo::host::console_excerpt(console, f[0]).find("kmemleak_alloc") != std::string::npos);
}

namespace {

// The title of the first report in a console given as lines.
std::string first_title(std::initializer_list<const char *> lines)
{
	std::string console;
	for (const char *l : lines)
		console += std::string("[   10.000000] ") + l + "\n";
	auto f = classify_console(console);
	return f.empty() ? "(none)" : f.front().title;
}

} // namespace

TEST_CASE("every report family gets its syzkaller-style title", "[unit][console]")
{
	CHECK(first_title({"UBSAN: shift-out-of-bounds in kernel/liveupdate/luo_core.c:88:12",
			   "shift exponent 64 is too large for 64-bit type 'long unsigned int'",
			   "Call Trace:", " dump_stack_lvl+0x53/0x70", " __ubsan_handle_shift_out_of_bounds+0x1e/0x40",
			   " luo_fdt_setup+0x1a/0x90"}) == "UBSAN: shift-out-of-bounds in luo_fdt_setup");
	CHECK(first_title({"BUG: KFENCE: use-after-free read in luo_x+0x1/0x2", "", " luo_x+0x1/0x2"}) ==
	      "KFENCE: use-after-free read in luo_x");
	CHECK(first_title({"WARNING: possible recursive locking detected", "luo-vmm/1 is trying to acquire lock:",
			   "ffff8880 (&s->lock){+.+.}-{4:4}, at: luo_a+0x1/0x2", "but task is already holding lock:",
			   "ffff8880 (&s->lock){+.+.}-{4:4}, at: luo_b+0x1/0x2"}) == "possible deadlock in luo_a");
	CHECK(first_title({"INFO: trying to register non-static key.", "Call Trace:", " dump_stack+0x1/0x2",
			   " register_lock_class+0x1/0x2", " __lock_acquire+0x1/0x2", " luo_c+0x1/0x2"}) ==
	      "INFO: trying to register non-static key in luo_c");
	CHECK(first_title({"WARNING: bad unlock balance detected!",
			   "luo-vmm/1 is trying to release lock (luo_lock) at:", "[<ffffffff81000000>] luo_d+0x1/0x2"}) ==
	      "WARNING: bad unlock balance in luo_d");
	CHECK(first_title({"WARNING: held lock freed!", "luo-vmm/1 is freeing memory, with a lock still held there!",
			   "ffff8880 (&x->lock){+.+.}-{4:4}, at: luo_e+0x1/0x2"}) == "WARNING: held lock freed in luo_e");
	CHECK(first_title({"WARNING: lock held when returning to user space!",
			   "luo-vmm/1 is leaving the kernel with locks still held!",
			   "1 lock held by luo-vmm/1:", " #0: ffff8880 (&x->lock){+.+.}-{4:4}, at: luo_f+0x1/0x2"}) ==
	      "WARNING: lock held when returning to user space in luo_f");
	CHECK(first_title({"WARNING: luo-vmm/1 still has locks held!", "1 lock held by luo-vmm/1:",
			   " #0: ffff8880 (&x->lock){+.+.}-{4:4}, at: luo_g+0x1/0x2"}) ==
	      "WARNING: still has locks held in luo_g");
	CHECK(first_title({"WARNING: suspicious RCU usage", "kernel/liveupdate/luo_file.c:90 suspicious rcu_dereference_check() usage!",
			   "Call Trace:", " dump_stack+0x1/0x2", " lockdep_rcu_suspicious+0x1/0x2", " luo_h+0x1/0x2"}) ==
	      "WARNING: suspicious RCU usage in luo_h");
	CHECK(first_title({"WARNING: inconsistent lock state", "Call Trace:", " dump_stack+0x1/0x2",
			   " mark_lock+0x1/0x2", " luo_i+0x1/0x2"}) == "inconsistent lock state in luo_i");
	CHECK(first_title({"PANIC: double fault, error_code: 0x0", "RIP: 0010:luo_j+0x1/0x2"}) ==
	      "PANIC: double fault in luo_j");
	CHECK(first_title({"Oops: divide error: 0000 [#1] PREEMPT SMP", "RIP: 0010:luo_k+0x1/0x2"}) ==
	      "divide error in luo_k");
	CHECK(first_title({"Oops: invalid opcode: 0000 [#1] PREEMPT SMP", "RIP: 0010:luo_l+0x1/0x2"}) ==
	      "invalid opcode in luo_l");
	CHECK(first_title({"Oops: general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1]",
			   "RIP: 0010:luo_m+0x1/0x2"}) == "general protection fault in luo_m");
	CHECK(first_title({"INFO: rcu_sched self-detected stall on CPU", "Call Trace:", " <IRQ>",
			   " apic_timer_interrupt+0x1/0x2", " </IRQ>", "RIP: 0010:luo_spin+0x1/0x2", " luo_n+0x1/0x2",
			   " do_syscall_64+0x1/0x2"}) == "INFO: rcu detected stall in luo_n");
	CHECK(first_title({"INFO: task luo-vmm:1 blocked for more than 120 seconds.", "Call Trace:",
			   " __schedule+0x1/0x2", " schedule+0x1/0x2", " rwsem_down_write_slowpath+0x1/0x2",
			   " luo_o+0x1/0x2"}) == "INFO: task hung in luo_o");
	CHECK(first_title({"watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [luo-vmm:1]",
			   "RIP: 0010:luo_spin+0x1/0x2", "Call Trace:", " luo_p+0x1/0x2", " do_syscall_64+0x1/0x2"}) ==
	      "BUG: soft lockup in luo_p");
	CHECK(first_title({"BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580",
			   "Call Trace:", " dump_stack+0x1/0x2", " __might_resched+0x1/0x2", " luo_q+0x1/0x2"}) ==
	      "BUG: sleeping function called from invalid context in luo_q");
	CHECK(first_title({"BUG: scheduling while atomic: luo-vmm/1/0x00000002", "Call Trace:",
			   " dump_stack+0x1/0x2", " __schedule_bug+0x1/0x2", " schedule+0x1/0x2", " luo_r+0x1/0x2"}) ==
	      "BUG: scheduling while atomic in luo_r");
	CHECK(first_title({"refcount_t: underflow; use-after-free.", "WARNING: CPU: 0 PID: 1 at lib/refcount.c:28 refcount_warn_saturate+0x1/0x2",
			   "RIP: 0010:refcount_warn_saturate+0x1/0x2", "Call Trace:", " luo_s+0x1/0x2"}) ==
	      "WARNING: refcount bug in luo_s");
	CHECK(first_title({"list_del corruption. next->prev should be ffff8880, but was ffff8881.",
			   "------------[ cut here ]------------", "kernel BUG at lib/list_debug.c:62!",
			   "Oops: invalid opcode: 0000 [#1]", "RIP: 0010:__list_del_entry_valid_or_report+0x1/0x2",
			   "Call Trace:", " luo_t+0x1/0x2"}) == "BUG: corrupted list in luo_t");
	CHECK(first_title({"ODEBUG: free active (active state 0) object: ffff8880 object type: timer_list hint: luo_u+0x0/0x10",
			   "WARNING: CPU: 0 PID: 1 at lib/debugobjects.c:514 debug_print_object+0x1/0x2",
			   "RIP: 0010:debug_print_object+0x1/0x2", "Call Trace:", " debug_check_no_obj_freed+0x1/0x2",
			   " kfree+0x1/0x2", " luo_v+0x1/0x2"}) == "WARNING: ODEBUG bug in luo_v");
	CHECK(first_title({"kernel BUG at kernel/liveupdate/luo_session.c:77!", "Oops: invalid opcode: 0000 [#1]",
			   "RIP: 0010:luo_w+0x1/0x2"}) == "kernel BUG in luo_w");
}

TEST_CASE("a KASAN report is named by its access, or without one when it was cut",
	  "[unit][console]")
{
	CHECK(first_title({"BUG: KASAN: use-after-free in luo_x+0x1/0x2", "Write of size 4 at addr ffff8880 by task a/1",
			   "Call Trace:", " luo_x+0x1/0x2"}) == "KASAN: use-after-free Write in luo_x");
	CHECK(first_title({"BUG: KASAN: use-after-free in luo_x+0x1/0x2"}) == "KASAN: use-after-free in luo_x");
	CHECK(first_title({"BUG: KASAN: slab-out-of-bounds in luo_y+0x11c8/0x3730 at addr ffff8801c4b8f6c8"}) ==
	      "KASAN: slab-out-of-bounds in luo_y at addr ADDR");
}

TEST_CASE("lines that only look alarming are no finding", "[unit][console]")
{
	CHECK(classify_console("[    0.5] ODEBUG: selftest passed\n"
			       "[    0.6] INFO: lockdep is turned off.\n"
			       "[    0.7] WARNING: /etc/ssh/moduli does not exist, using fixed modulus\n"
			       "[    0.8] luo-vmm[1]: general protection fault ip:4011 sp:7ffd error:0 in luo-vmm[401000+1000]\n"
			       "[    0.9] DEBUG: luo-vmm starting\n")
		      .empty());
}

TEST_CASE("a title is the same for each hit of a bug and differs between bugs", "[unit][console]")
{
	auto warning = [](const char *cpu, const char *addr, const char *func) {
		return std::string("[  ") + cpu + ".1] ------------[ cut here ]------------\n[  " + cpu +
		       ".1] WARNING: CPU: " + cpu + " PID: " + cpu + "7 at kernel/liveupdate/luo_file.c:1 " + func +
		       "+" + addr + "/0x80\n";
	};
	auto a = classify_console(warning("1", "0x1a", "luo_a"));
	auto b = classify_console(warning("3", "0x2c", "luo_a"));
	auto c = classify_console(warning("1", "0x1a", "luo_b"));
	REQUIRE(a.size() == 1);
	REQUIRE(b.size() == 1);
	REQUIRE(c.size() == 1);
	CHECK(a[0].title == b[0].title);
	CHECK(a[0].title != c[0].title);
	// Free-form titles lose their numbers.
	CHECK(first_title({"BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!"}) ==
	      "BUG: workqueue lockup");
	CHECK(first_title({"BUG: Bad rss-counter state mm:ffff8880 type:MM_FILEPAGES val:1"}) ==
	      "BUG: Bad rss-counter state");
}

TEST_CASE("the consoles in tests/data/console classify as their headers say", "[unit][console]")
{
	// Each file: "TITLE:" (none for a clean console), "KIND:", "SOURCE:"
	// (captured from this project's kernels, or synthetic and why), a blank
	// line, then the console.  Every file there is checked.
	namespace fs = std::filesystem;
	fs::path dir = fs::path(LUO_RIG_SOURCE_DIR) / "tests/data/console";
	int files = 0;
	for (const auto &e : fs::directory_iterator(dir)) {
		INFO(e.path().filename().string());
		std::ifstream in(e.path());
		std::string l, title, kind, source, console;
		while (std::getline(in, l) && !l.empty()) {
			if (l.rfind("TITLE: ", 0) == 0)
				title = l.substr(7);
			else if (l.rfind("KIND: ", 0) == 0)
				kind = l.substr(6);
			else if (l.rfind("SOURCE: ", 0) == 0)
				source = l.substr(8);
			else
				FAIL("unknown header line: " << l);
		}
		for (std::string r; std::getline(in, r);)
			console += r + "\n";
		CHECK(e.path().extension() == ".log");
		CHECK((source.rfind("captured: ", 0) == 0 || source.rfind("synthetic: ", 0) == 0));
		CHECK((source.rfind("synthetic: ", 0) != 0 ||
		       e.path().filename().string().rfind("synthetic-", 0) == 0));
		auto f = classify_console(console);
		if (title.empty()) {
			CHECK(f.empty());
		} else {
			REQUIRE_FALSE(f.empty());
			CHECK(f.front().title == title);
			CHECK(f.front().kind == kind);
		}
		files++;
	}
	CHECK(files >= 6);
}

TEST_CASE("twenty megabytes of boot log classify in well under a second", "[unit][console]")
{
	std::string line = "[    1.234567] pci 0000:00:02.0: reg 0x10: [mem 0xfe000000-0xfe7fffff pref] BUG-free\n";
	std::string big;
	while (big.size() < 20u << 20)
		big += line;
	auto t0 = std::chrono::steady_clock::now();
	CHECK(classify_console(big).empty());
	CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
}
