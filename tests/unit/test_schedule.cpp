// SPDX-License-Identifier: GPL-2.0-only
//
// Schedules: the orders in which a VM serves its cases' sessions.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <map>
#include <set>

#include "host/run/planner.hpp"
#include "host/run/schedule.hpp"
#include "host/util/errors.hpp"
#include "host_fixtures.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;

namespace {

// Each case's steps come out in their own order, all of them, once.
void check_each_order_kept(const std::vector<int> &sizes, const std::vector<std::pair<int, int>> &seq)
{
	std::vector<int> next(sizes.size(), 0);
	for (auto [k, s] : seq) {
		REQUIRE(k < (int)sizes.size());
		CHECK(s == next[k]);
		next[k]++;
	}
	CHECK(next == sizes);
}

} // namespace

TEST_CASE("schedules parse, print back, and refuse what they are not", "[unit][schedule]")
{
	for (auto s : {"sequential", "reversed", "round-robin", "random:42", "threads:4"})
		CHECK(host::to_string(host::parse_schedule(s)) == s);
	for (auto bad : {"", "threads", "threads:1", "threads:99", "random:", "random:x", "robin",
			 "sequential:2"}) {
		INFO(bad);
		CHECK_THROWS_AS(host::parse_schedule(bad), host::SetupError);
	}
	try {
		host::parse_schedule("roundrobin");
	} catch (const host::SetupError &e) {
		CHECK_THAT(e.what(), ContainsSubstring("round-robin"));
	}
	auto defaults = host::default_schedules();
	std::set<host::Schedule::Kind> kinds;
	for (const auto &s : defaults)
		kinds.insert(s.kind);
	CHECK(kinds.count(host::Schedule::Kind::sequential));
	CHECK(kinds.count(host::Schedule::Kind::threads));
	CHECK(kinds.size() >= 3);
}

TEST_CASE("every schedule keeps each case's own order", "[unit][schedule]")
{
	std::vector<int> sizes = {3, 1, 4, 0, 2};
	for (auto name : {"sequential", "reversed", "round-robin", "random:1", "random:7", "threads:3"}) {
		INFO(name);
		check_each_order_kept(sizes, host::interleave(sizes, host::parse_schedule(name)));
	}
	using P = std::pair<int, int>;
	auto rr = host::interleave({2, 2}, host::parse_schedule("round-robin"));
	CHECK(rr == std::vector<P>{{0, 0}, {1, 0}, {0, 1}, {1, 1}});
	auto rev = host::interleave({1, 2}, host::parse_schedule("reversed"));
	CHECK(rev == std::vector<P>{{1, 0}, {1, 1}, {0, 0}});
	// Seeded: the same seed, the same order; another seed, another one.
	std::vector<int> many(20, 5);
	auto a = host::interleave(many, host::parse_schedule("random:3"));
	CHECK(a == host::interleave(many, host::parse_schedule("random:3")));
	CHECK(a != host::interleave(many, host::parse_schedule("random:4")));
	CHECK(a != host::interleave(many, host::parse_schedule("sequential")));
}

TEST_CASE("a scheduled batch interleaves sessions but keeps refusals alone and first",
	  "[unit][schedule]")
{
	auto a = memfd_case("a"), b = memfd_case("b"), r = refused_case("r");
	auto batch = host::make_batch({&a, &b, &r}, {}, host::parse_schedule("round-robin"));
	CHECK(host::to_string(batch.schedule) == "round-robin");
	const auto &steps = batch.plan.steps;
	// r's boot-0 steps come before anything of a or b.
	size_t first_other = steps.size(), last_r = 0;
	for (size_t i = 0; i < steps.size(); i++) {
		if (steps[i].boot != 0)
			continue;
		if (steps[i].case_id == "r")
			last_r = i;
		else if (!steps[i].case_id.empty())
			first_other = std::min(first_other, i);
	}
	CHECK(last_r < first_other);
	// a and b alternate in boot 1.
	std::vector<std::string> boot1;
	for (const auto &s : steps)
		if (s.boot == 1 && s.case_id != "r" && !s.case_id.empty())
			boot1.push_back(s.case_id);
	REQUIRE(boot1.size() >= 4);
	CHECK(boot1[0] != boot1[1]);
	CHECK(boot1[1] != boot1[2]);
}

TEST_CASE("a threaded batch deals whole cases to threads; the rest stays on the main one",
	  "[unit][schedule]")
{
	std::vector<core::Case> cases;
	for (int i = 0; i < 5; i++)
		cases.push_back(vfio_case("v" + std::to_string(i)));
	cases.push_back(refused_case("r"));
	auto ptrs = ptrs_of(cases);
	auto batch = host::make_batch(ptrs, {0, 0, 0, 1, 1, 1}, host::parse_schedule("threads:2"));
	std::map<std::string, std::set<std::uint32_t>> threads_of;
	for (size_t i = 0; i < batch.plan.steps.size(); i++) {
		const auto &s = batch.plan.steps[i];
		const auto &ref = batch.refs[i];
		if (s.op == Op::kexec || ref.teardown || s.case_id == "r") {
			CHECK(s.thread == 0);
			continue;
		}
		threads_of[s.case_id].insert(s.thread);
	}
	std::set<std::uint32_t> used;
	for (const auto &[id, t] : threads_of) {
		INFO(id);
		REQUIRE(t.size() == 1); // a case never changes threads
		used.insert(*t.begin());
	}
	CHECK(used == std::set<std::uint32_t>{1, 2});
	// The round's teardown runs on the main thread, between the rounds.
	bool seen_close = false;
	for (size_t i = 0; i < batch.plan.steps.size(); i++) {
		if (batch.refs[i].teardown)
			seen_close = true;
		if (!seen_close)
			CHECK(batch.plan.steps[i].case_id != "v3");
	}
	CHECK(seen_close);
}

TEST_CASE("cases of a batch get contents of their own", "[unit][schedule]")
{
	auto a = memfd_case("a"), b = memfd_case("b");
	auto batch = host::make_batch({&a, &b});
	REQUIRE(batch.plan.objects.size() == 2);
	// Same scenario, same seed in the case: a file handed to the other
	// session must still fail its check.
	CHECK(a.objects[0].seed == b.objects[0].seed);
	CHECK(batch.plan.objects[0].seed != batch.plan.objects[1].seed);
}
