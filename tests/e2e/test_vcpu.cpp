// SPDX-License-Identifier: GPL-2.0-only
//
// run-vcpu: a vCPU of the restored VM reads the restored guest_memfd through
// its own page tables, so through KVM's guest fault path, which verify's
// mmap reads never take.  It must pass on the restored pair, fail on a new
// guest_memfd (test_fresh_objects.cpp), and catch the gmem-stays-frozen
// knob, which every other check of the suite passes.
#include <catch2/catch_test_macros.hpp>

#include "e2e_support.hpp"

using namespace luo;

namespace {

// The guest's own timing of each run-vcpu step, in microseconds.
std::vector<std::uint64_t> vcpu_usecs(const host::RunReport &rep)
{
	std::vector<std::uint64_t> out;
	for (const auto &ev : e2e::events_of(rep.summary.run_dir))
		if (ev.type == protocol::EventType::step && ev.op == protocol::Op::run_vcpu)
			out.push_back(ev.usec);
	return out;
}

} // namespace

TEST_CASE("a vCPU of the restored VM reads every restored page through its page tables",
	  "[e2e][vcpu]")
{
	auto cfg = e2e::config_for({"scenarios/deps/kvm-gmem.json"}, "vcpu-read");
	cfg.cases = {"kvm-gmem/p:vm,gmem/r:vm,gmem", "kvm-gmem/p:gmem,vm/r:gmem"};
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 2);
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
		int runs = 0;
		for (const auto &s : c.steps) {
			if (s.op != protocol::Op::run_vcpu)
				continue;
			INFO(s.object << ": " << s.result << " " << s.detail);
			runs++;
			CHECK(s.executed);
			CHECK(s.result == 0);
			// 2 MiB: 512 pages, each summed by the guest.
			CHECK(s.detail.find("read all 512 pages") != std::string::npos);
			CHECK(s.detail.find("every checksum matches") != std::string::npos);
		}
		CHECK(runs == 1);
	}
	auto usecs = vcpu_usecs(rep);
	CHECK(usecs.size() == 2);
	for (auto u : usecs)
		WARN("run-vcpu of a 2 MiB guest_memfd took " << u / 1000 << " ms in the guest");
	CHECK(rep.exit_code == 0);
}

TEST_CASE("a restored guest_memfd that gains no new folio is caught by the vCPU read only",
	  "[e2e][vcpu][knobs]")
{
	const auto &e = test::knob_expectation("gmem-stays-frozen");
	auto rep = host::run_suite(e2e::knob_config(e, "knob-gmem-stays-frozen"));
	for (const auto &m : e2e::knob_mismatches(e, rep))
		FAIL_CHECK(m);
	int caught = 0;
	for (const auto &c : rep.cases) {
		for (const auto &s : c.steps) {
			if (!s.executed)
				continue;
			INFO(c.id << ": " << protocol::to_string(s.op) << " " << s.object << ": " << s.detail);
			// Every mmap read of the same file still passes: the
			// restored folios are there, only a new one is refused.
			if (s.op == protocol::Op::verify)
				CHECK(s.result == 0);
			if (s.op != protocol::Op::run_vcpu || s.result == 0)
				continue;
			caught++;
			CHECK(s.err == "EPERM");
			CHECK(s.detail.find("KVM_EXIT_MEMORY_FAULT") != std::string::npos);
		}
	}
	CHECK(caught > 0);
	CHECK(rep.exit_code == 1);
}
