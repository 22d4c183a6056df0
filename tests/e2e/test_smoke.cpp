// SPDX-License-Identifier: GPL-2.0-only
#include <catch2/catch_test_macros.hpp>

#include "e2e_support.hpp"

using namespace luo;
using protocol::Op;

TEST_CASE("a memfd survives a live update and FINISH succeeds", "[e2e][smoke]")
{
	auto cfg = e2e::config_for({"scenarios/smoke"}, "smoke");
	auto rep = host::run_suite(cfg);

	REQUIRE(rep.cases.size() >= 1);
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << " " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
	}
	CHECK(rep.exit_code == 0);

	// What the guests said, straight from the event streams of both kernels.
	auto events = e2e::events_of(rep.summary.run_dir);
	bool boot0 = false, boot1 = false, kexec_ok = false, retrieved = false, verified = false,
	     finished = false;
	for (const auto &ev : events) {
		boot0 |= ev.type == protocol::EventType::boot && ev.boot == 0;
		boot1 |= ev.type == protocol::EventType::boot && ev.boot == 1;
		if (ev.type != protocol::EventType::step)
			continue;
		INFO("event " << protocol::event_to_json(ev));
		if (ev.op == Op::kexec && ev.boot == 1)
			kexec_ok |= ev.result == 0;
		if (ev.op == Op::retrieve)
			retrieved |= ev.result == 0 && ev.boot == 1;
		if (ev.op == Op::verify && ev.boot == 1)
			verified |= ev.result == 0;
		if (ev.op == Op::finish)
			finished |= ev.result == 0 && ev.boot == 1;
	}
	CHECK(boot0);
	CHECK(boot1);
	CHECK(kexec_ok);
	CHECK(retrieved);
	CHECK(verified);
	CHECK(finished);
	CHECK(std::filesystem::exists(std::filesystem::path(rep.summary.run_dir) / "vm-1" / "console.log"));
}
