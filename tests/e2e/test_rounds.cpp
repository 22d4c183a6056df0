// SPDX-License-Identifier: GPL-2.0-only
//
// Chained kexec rounds in real VMs: a case restored in the third kernel of a
// VM must see exactly what it would see in a VM of its own round, and a
// handler bug must be caught there too.
#include <catch2/catch_test_macros.hpp>
#include <map>
#include <set>

#include "../knob_expectations.hpp"
#include "e2e_support.hpp"

using namespace luo;

namespace {

host::RunConfig chained(const std::string &tag, int rounds)
{
	auto cfg = e2e::config_for({"scenarios/deps/iommufd-vfio.json", "scenarios/deps/kvm-gmem.json"},
				   tag);
	// Three devices a round: the ten VFIO cases need four rounds, which
	// the ten kvm-gmem cases share.
	cfg.limits.max_edu = 3;
	cfg.limits.max_rounds = rounds;
	cfg.jobs = 1;
	return cfg;
}

// The boot each case's steps ran in, from what the guests reported.
std::map<std::string, std::set<unsigned>> boots_per_case(const std::filesystem::path &dir)
{
	std::map<std::string, std::set<unsigned>> out;
	for (const auto &ev : e2e::events_of(dir))
		if (ev.type == protocol::EventType::step && !ev.case_id.empty())
			out[ev.case_id].insert(ev.boot);
	return out;
}

} // namespace

TEST_CASE("chained rounds give every case the outcomes of a VM per round", "[e2e][rounds]")
{
	auto one = host::run_suite(chained("rounds-one", 1));
	auto many = host::run_suite(chained("rounds-many", 8));
	REQUIRE(one.cases.size() == many.cases.size());
	REQUIRE(one.cases.size() == 20);

	// The same work in fewer QEMUs and first boots.
	CHECK(one.summary.vms == 4);
	CHECK(many.summary.vms == 1);
	CHECK(many.summary.boots < one.summary.boots);

	std::map<std::string, const host::CaseResult *> by_id;
	for (const auto &c : one.cases)
		by_id[c.id] = &c;
	for (const auto &c : many.cases) {
		INFO(c.id << ": " << c.message);
		REQUIRE(by_id.count(c.id));
		const auto &o = *by_id[c.id];
		CHECK(c.verdict == host::Verdict::pass);
		CHECK(c.verdict == o.verdict);
		REQUIRE(c.steps.size() == o.steps.size());
		for (size_t s = 0; s < c.steps.size(); s++) {
			CHECK(c.steps[s].executed);
			CHECK(c.steps[s].result == o.steps[s].result);
			CHECK(c.steps[s].err == o.steps[s].err);
		}
	}

	// Really chained: cases that preserved in a later kernel and were
	// restored in the one after, in the same VM.
	auto boots = boots_per_case(many.summary.run_dir);
	int late = 0;
	for (const auto &[id, b] : boots) {
		INFO(id);
		CHECK(b.size() == 2);
		late += *b.begin() >= 2;
	}
	CHECK(late >= 3);
}

TEST_CASE("a handler bug is caught in every round of a chain", "[e2e][rounds]")
{
	auto cfg = chained("rounds-knob", 8);
	cfg.fault = "unbound-restore";
	auto rep = host::run_suite(cfg);
	auto boots = boots_per_case(rep.summary.run_dir);
	// Each case exactly as tests/data/knobs.json has it for this knob: the
	// same verdict, step and rule as in a VM of its own.
	const auto &e = test::knob_expectation("unbound-restore");
	auto results = nlohmann::json::parse(
		std::ifstream(std::filesystem::path(rep.summary.run_dir) / "results.json"));
	for (const auto &c : results.at("cases"))
		CHECK(test::knob_mismatch(e, c) == "");
	std::set<unsigned> caught_in;
	for (const auto &c : rep.cases)
		if (c.verdict == host::Verdict::violation)
			caught_in.insert(*boots[c.id].begin());
	// Violations in the first round and in later ones: the rounds after
	// the first are judged, not carried along.
	CHECK(caught_in.count(0));
	CHECK(*caught_in.rbegin() >= 2);
	CHECK(rep.exit_code == 1);
}
