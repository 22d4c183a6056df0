// SPDX-License-Identifier: GPL-2.0-only
//
// --inject fail-nth on RETRIEVE_FD: a failed retrieve is final, so the walk
// spends preserved copies of the object, one per injected failure.  What the
// plan carries, which tokens the copies get, which points a walk tries, what
// the summary says of it, and the options refused before anything is built.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <set>

#include "guest/retrieve_points.hpp"
#include "host/run/inject_report.hpp"
#include "host/run/run.hpp"
#include "host_fixtures.hpp"
#include "results_fixtures.hpp"

using namespace luo;
using namespace luo::test;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("the plan carries the retrieve copies with fail-nth only", "[unit][inject]")
{
	auto a = memfd_case("a");
	protocol::Plan plan = host::make_batch({&a}).plan;
	plan.fail_nth = true;
	plan.retrieve_copies = 16;
	for (std::uint32_t boot : {0u, 1u})
		CHECK(protocol::plan_from_boot_lines(protocol::plan_to_boot_lines(plan), boot)
			      .retrieve_copies == 16);
	CHECK(protocol::plan_from_json(protocol::plan_to_json(plan)).retrieve_copies == 16);

	plan.fail_nth = false;
	CHECK_THROWS_WITH(protocol::plan_from_json(protocol::plan_to_json(plan)),
			  ContainsSubstring("retrieve_copies without fail_nth"));
	plan.fail_nth = true;
	plan.retrieve_copies = protocol::kMaxRetrieveCopies + 1;
	CHECK_THROWS_WITH(protocol::plan_from_json(protocol::plan_to_json(plan)),
			  ContainsSubstring("at most 255"));

	protocol::Event ev;
	ev.type = protocol::EventType::step;
	ev.op = protocol::Op::retrieve;
	ev.points = 211;
	ev.injected = 15;
	ev.untried = 196;
	auto back = protocol::event_from_json(protocol::event_to_json(ev));
	CHECK(back.points == 211);
	CHECK(back.untried == 196);
}

TEST_CASE("copy tokens meet neither a plan token nor another object's copies", "[unit][inject]")
{
	std::set<std::uint64_t> seen;
	for (std::uint64_t t : std::vector<std::uint64_t>{0, 1, 2, 100, 999, protocol::kMaxWalkedToken - 1})
		for (std::uint32_t i = 1; i <= protocol::kMaxRetrieveCopies; i++) {
			std::uint64_t c = protocol::copy_token(t, i);
			CHECK(c >= protocol::kMaxWalkedToken);
			CHECK(seen.insert(c).second);
		}
	// What can be copied: not a VFIO device (one edu device each), not
	// the kind no handler takes.
	CHECK(protocol::retrieve_copyable(protocol::ObjectKind::kvm_vm));
	CHECK(protocol::retrieve_copyable(protocol::ObjectKind::guest_memfd));
	CHECK_FALSE(protocol::retrieve_copyable(protocol::ObjectKind::vfio_cdev));
	CHECK_FALSE(protocol::retrieve_copyable(protocol::ObjectKind::unsupported));
}

namespace {

std::vector<unsigned> upto(unsigned n)
{
	std::vector<unsigned> v;
	for (unsigned i = 1; i <= n; i++)
		v.push_back(i);
	return v;
}

} // namespace

TEST_CASE("a retrieve walk tries each point the copies cover, else a spread with both ends",
	  "[unit][inject]")
{
	using V = std::vector<unsigned>;
	CHECK(guest::pick_points({}, 16).empty());
	CHECK(guest::pick_points(upto(5), 0).empty());
	CHECK(guest::pick_points(upto(3), 16) == V{1, 2, 3});
	CHECK(guest::pick_points(upto(4), 4) == V{1, 2, 3, 4});
	CHECK(guest::pick_points(upto(9), 1) == V{1});
	CHECK(guest::pick_points(upto(9), 2) == V{1, 9});
	CHECK(guest::pick_points(upto(10), 4) == V{1, 4, 7, 10});
	CHECK(guest::pick_points({2, 3, 5, 8, 13}, 3) == V{2, 5, 13});
	for (unsigned points : {17u, 100u, 211u, 1000u, 99999u}) {
		auto v = guest::pick_points(upto(points), 15);
		INFO(points);
		REQUIRE(v.size() == 15);
		CHECK(v.front() == 1);
		CHECK(v.back() == points);
		for (size_t i = 1; i < v.size(); i++)
			CHECK(v[i] > v[i - 1]);
	}
}

TEST_CASE("a retrieve walk spreads its copies again when a try passes fewer points",
	  "[unit][inject]")
{
	// Enough copies: every point, in order, then over.
	guest::PointWalk all(3, 15);
	for (unsigned n : {1u, 2u, 3u}) {
		REQUIRE(all.next() == n);
		all.tried(n, true, n);
	}
	CHECK(all.next() == 0);
	CHECK(all.untried() == 0);

	// The first copy's retrieve made its dependency too (262 points); the
	// later ones find it made and pass 24.  The try at 19 is hit, the one
	// at 38 is not: the 13 copies left go to the untried points up to 24.
	guest::PointWalk w(262, 15);
	REQUIRE(w.next() == 1);
	w.tried(1, true, 1);
	REQUIRE(w.next() == 19);
	w.tried(19, true, 19);
	REQUIRE(w.next() == 38);
	w.tried(38, false, 24);
	CHECK(w.points() == 24);
	std::vector<unsigned> rest;
	for (unsigned n; (n = w.next());) {
		rest.push_back(n);
		w.tried(n, true, n);
	}
	CHECK(rest.size() == 12);
	CHECK(rest.front() == 2);
	CHECK(rest.back() == 24);
	CHECK(w.untried() == 22 - 12);
	// No copy left: over, whatever remains.
	CHECK(w.next() == 0);
}

TEST_CASE("the summary counts a retrieve walked on copies, and says when it was a spread",
	  "[unit][inject][report]")
{
	host::CaseResult c;
	auto whole = ran_step(protocol::Op::retrieve, 3);
	whole.points = 3;
	auto spread = ran_step(protocol::Op::retrieve, 14, 1);
	spread.points = 211;
	spread.untried = 211 - 15;
	// A retrieve of a VFIO device: not walked, so not "reached none".
	auto device = ran_step(protocol::Op::retrieve);
	c.steps = {whole, spread, device};
	auto line = host::inject_summary({c});
	CHECK_THAT(line, ContainsSubstring("retrieve 17 in 2 steps (at most 14 in one; 1 more that the "
					   "call got over; 214 points the calls pass, 196 of them untried "
					   "in 1 steps that had more than --retrieve-copies)"));
	auto totals = host::inject_totals({c});
	CHECK(totals["retrieve"].untouched == 0);
}

TEST_CASE("retrieve copies are refused without fail-nth, above 255 and beside large tokens",
	  "[unit][inject][cli]")
{
	host::RunConfig cfg;
	cfg.retrieve_copies = 8;
	CHECK_THAT(setup_error_of([&] { host::check_inject_options(cfg); }),
		   ContainsSubstring("add --inject fail-nth, or drop it"));
	cfg.inject = "fail-nth";
	cfg.kernel.flavour = "debug";
	CHECK_NOTHROW(host::check_inject_options(cfg));
	cfg.retrieve_copies = 256;
	CHECK_THAT(setup_error_of([&] { host::check_inject_options(cfg); }),
		   ContainsSubstring("at most 255"));

	auto a = memfd_case("a");
	CHECK_NOTHROW(host::check_walked_tokens({a}));
	for (auto &s : a.steps)
		if (protocol::has_token(s.op))
			s.token = protocol::kMaxWalkedToken;
	CHECK_THAT(setup_error_of([&] { host::check_walked_tokens({a}); }),
		   ContainsSubstring("case a: token 1099511627776"));

	std::string err;
	auto smoke = std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/smoke";
	CHECK(run_luo_rig({"run", "--retrieve-copies", "4", smoke}, err) == 2);
	CHECK_THAT(err, ContainsSubstring("add --inject fail-nth"));
	CHECK(run_luo_rig({"run", "--inject", "fail-nth", "--kernel-flavour", "debug",
			   "--retrieve-copies", "300", smoke},
			  err) == 2);
}
