// SPDX-License-Identifier: GPL-2.0-only
#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>
#include <fstream>

#include "guest/boot.hpp"
#include "host/image/recipe.hpp"
#include "protocol/plan.hpp"

using namespace luo;
namespace fs = std::filesystem;

TEST_CASE("the guest image holds init, the kernel, the plan and /dev/console", "[unit][image]")
{
	fs::path dir = fs::temp_directory_path() / "luo-rig-unit-image";
	fs::create_directories(dir);
	std::ofstream(dir / "vmm") << "ELF";
	std::ofstream(dir / "bzImage") << "kernel";
	host::write_initramfs(dir / "initrd", host::guest_image(dir / "vmm", dir / "bzImage", "{}"));
	auto names = host::list_initramfs(dir / "initrd");
	for (auto want : {"init", "boot/bzImage", "plan.jsonl", "dev/console", "proc", "sys"})
		CHECK(std::find(names.begin(), names.end(), want) != names.end());
	// Nothing is left under a temporary name.
	for (const auto &e : fs::directory_iterator(dir))
		CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
	fs::remove_all(dir);
}

TEST_CASE("plans and events survive a JSON round trip", "[unit][protocol]")
{
	protocol::Plan p;
	p.run_id = "r";
	p.edu_devices = {"0000:00:04.0"};
	p.objects.push_back({"c0.vm", protocol::ObjectKind::kvm_vm});
	p.objects.push_back({"c0.gmem", protocol::ObjectKind::guest_memfd, "c0.vm", 8192, 3});
	protocol::ObjectSpec ictx{"c0.iommu", protocol::ObjectKind::iommufd};
	ictx.ioas = 3;
	p.objects.push_back(ictx);
	protocol::Step s;
	s.id = 4;
	s.boot = 1;
	s.op = protocol::Op::same_object;
	s.session = "c0-s";
	s.object = "c0.gmem";
	s.token = 2;
	p.steps.push_back(s);
	// Tokens use all 64 bits; a double on the way would round this one.
	s.token = 0xfffffffffffffff5ull;
	p.steps.push_back(s);
	auto q = protocol::plan_from_json(protocol::plan_to_json(p));
	CHECK(q.steps[1].token == 0xfffffffffffffff5ull);
	REQUIRE(q.objects.size() == 3);
	CHECK(q.objects[1].depends_on == "c0.vm");
	CHECK(q.objects[1].size == 8192);
	CHECK(q.objects[1].ioas == 1);
	CHECK(q.objects[2].ioas == 3);
	CHECK(q.steps[0].op == protocol::Op::same_object);
	CHECK(q.steps[0].token == 2);
	CHECK(q.edu_devices == p.edu_devices);

	protocol::Event ev;
	ev.type = protocol::EventType::step;
	ev.step = 4;
	ev.op = protocol::Op::finish;
	ev.result = -EBUSY;
	ev.err = protocol::errno_name(-EBUSY);
	auto back = protocol::event_from_json(protocol::event_to_json(ev));
	CHECK(back.err == "EBUSY");
	CHECK(back.result == -EBUSY);
	CHECK(protocol::errno_from_name("ENOENT") == ENOENT);
	CHECK_THROWS(protocol::plan_from_json("{\"version\": 99}"));
}

TEST_CASE("a frozen guest_memfd's errno reaches every boot of the plan, and only a real one",
	  "[unit][protocol]")
{
	protocol::Plan p;
	p.objects.push_back({"c0.vm", protocol::ObjectKind::kvm_vm});
	protocol::Step s;
	s.id = 1;
	s.boot = 1;
	s.op = protocol::Op::create;
	s.object = "c0.vm";
	p.steps.push_back(s);
	CHECK(protocol::plan_from_json(protocol::plan_to_json(p)).gmem_frozen_err.empty());
	p.gmem_frozen_err = "EPERM";
	auto q = protocol::plan_from_json(protocol::plan_to_json(p));
	CHECK(q.gmem_frozen_err == "EPERM");
	CHECK(protocol::plan_for_boot(q, 1).gmem_frozen_err == "EPERM");
	p.gmem_frozen_err = "PERM";
	CHECK_THROWS_WITH(protocol::plan_from_json(protocol::plan_to_json(p)),
			  Catch::Matchers::ContainsSubstring("not an errno name"));
}

TEST_CASE("each boot reads only its own line of the plan", "[unit][guest]")
{
	protocol::Plan p;
	p.edu_devices = {"0000:00:02.0"};
	p.objects = {{"c0.ioas", protocol::ObjectKind::iommufd},
		     {"c0.dev", protocol::ObjectKind::vfio_cdev, "c0.ioas", 0, 0, 0},
		     {"c1.mem", protocol::ObjectKind::memfd, "", 4096, 3}};
	auto step = [](std::uint32_t id, std::uint32_t boot, protocol::Op op, std::string obj) {
		protocol::Step s;
		s.id = id;
		s.boot = boot;
		s.op = op;
		s.object = std::move(obj);
		return s;
	};
	p.steps = {step(0, 0, protocol::Op::create, "c0.ioas"),
		   step(1, 0, protocol::Op::create, "c0.dev"),
		   step(2, 0, protocol::Op::kexec, ""),
		   step(3, 1, protocol::Op::verify, "c0.dev"),
		   step(4, 1, protocol::Op::create, "c1.mem"),
		   step(5, 1, protocol::Op::kexec, ""),
		   step(6, 2, protocol::Op::verify, "c1.mem")};
	auto lines = protocol::plan_to_boot_lines(p);
	CHECK(std::count(lines.begin(), lines.end(), '\n') == 3);
	auto b1 = protocol::plan_from_boot_lines(lines, 1);
	REQUIRE(b1.steps.size() == 3);
	CHECK(b1.steps[0].id == 3);
	// The device's iommufd comes along: verify looks it up.
	REQUIRE(b1.objects.size() == 3);
	CHECK(b1.edu_devices == p.edu_devices);
	auto b2 = protocol::plan_from_boot_lines(lines, 2);
	REQUIRE(b2.objects.size() == 1);
	CHECK(b2.objects[0].name == "c1.mem");
	CHECK(b2.objects[0].seed == 3);
	CHECK_THROWS_WITH(protocol::plan_from_boot_lines(lines, 3),
			  Catch::Matchers::ContainsSubstring("no line for boot 3"));
}

TEST_CASE("the guest finds its boot and builds the next command line", "[unit][guest]")
{
	auto b = guest::parse_cmdline("console=ttyS0 rdinit=/init\n");
	CHECK(b.boot == 0);
	CHECK_FALSE(b.after);
	auto next = guest::next_cmdline(b, 17);
	auto b1 = guest::parse_cmdline(next);
	CHECK(b1.boot == 1);
	CHECK(b1.after == 17u);
	CHECK(next.find("console=ttyS0") != std::string::npos);
	auto b2 = guest::parse_cmdline(guest::next_cmdline(b1, 30));
	CHECK(b2.boot == 2);
	CHECK(b2.after == 30u);
}

TEST_CASE("a built-in command line does not pile up across kexecs", "[unit][image]")
{
	// The kernel prepends CONFIG_CMDLINE to what kexec gave it, so boot n
	// sees the built-in words once more in front of boot n-1's line.
	const std::string builtin = "kho_scratch=64M,512M,256M";
	auto b = guest::parse_cmdline(builtin + " console=ttyS0 rdinit=/init");
	for (int boot = 1; boot <= 4; boot++) {
		auto next = guest::next_cmdline(b, boot * 10);
		CHECK(next == builtin + " console=ttyS0 rdinit=/init luo_rig.boot=" +
				      std::to_string(boot) + " luo_rig.after=" + std::to_string(boot * 10));
		b = guest::parse_cmdline(builtin + " " + next);
	}
	// Repeats that are not at the front stay: they were asked for.
	auto mid = guest::next_cmdline(guest::parse_cmdline("a=1 b=2 a=1"), 1);
	CHECK(mid.rfind("a=1 b=2 a=1 ", 0) == 0);
	// Two words the same at the front are one copy too many of the first.
	CHECK(guest::next_cmdline(guest::parse_cmdline("x x y"), 1).rfind("x y ", 0) == 0);
}
