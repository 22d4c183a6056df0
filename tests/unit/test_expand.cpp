// SPDX-License-Identifier: GPL-2.0-only
//
// Expansion: counts, stable ids, the shape of every case, explicit
// expectations, the PRNG, the plan renderer, and the default suite.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "contracts.hpp"
#include "core/expand.hpp"
#include "core/plan_render.hpp"
#include "core/prng.hpp"

using namespace luo::core;
using Catch::Matchers::ContainsSubstring;
using luo::protocol::Op;

namespace {

const char *kTwo = R"({
  "name": "kvm-gmem",
  "objects": {"vm": "kvm-vm", "gmem": "guest-memfd"},
  "preserve": "all",
  "restore": "all"
})";

const char *kFour = R"({
  "name": "four",
  "objects": {"vm": "kvm-vm", "gmem": "guest-memfd", "iommu": "iommufd", "vfio": "vfio-cdev"},
  "preserve": "all",
  "restore": "all"
})";

std::vector<std::string> ids(const std::vector<Case> &cases)
{
	std::vector<std::string> out;
	for (const auto &c : cases)
		out.push_back(c.id);
	return out;
}

// Follows the fds the guest would hold from the planned steps alone, not
// from the oracle's model, and fails on a verify the guest could not make:
// one of an object without its fd, or of a dependent without its
// dependency's.  Such a step fails in the guest whatever the kernel does.
void check_verifies_are_possible(const Case &c)
{
	std::map<std::string, std::string> dep;
	for (const auto &o : c.objects)
		dep[o.name] = o.depends_on;
	std::set<std::string> held;
	for (std::size_t i = 0; i < c.steps.size(); i++) {
		const CaseStep &s = c.steps[i];
		bool ok = s.expect.kind == Expect::Kind::ok;
		switch (s.op) {
		case Op::create:
		case Op::retrieve:
			if (ok && !s.object.empty())
				held.insert(s.object);
			break;
		case Op::close_object:
			held.erase(s.object);
			break;
		case Op::kexec:
			if (ok)
				held.clear();
			break;
		case Op::verify: {
			INFO(c.id << " (" << c.contract << ") step " << i + 1 << ": verify " << s.object);
			CHECK(held.count(s.object));
			if (!dep[s.object].empty())
				CHECK(held.count(dep[s.object]));
			CHECK(ok);
			break;
		}
		default:
			break;
		}
	}
}

// The four dependency objects with a FINISH spec, preserve orders drawn so
// both contracts see dependents first and last.
std::string four_with_finish(const std::string &finish, const std::string &extra = "")
{
	return R"({"name": "four", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd", "iommu": "iommufd",
	  "vfio": "vfio-cdev"}, "preserve": {"random": 6, "seed": 3}, "restore": "all", "finish": )" +
	       finish + extra + "}";
}

} // namespace

TEST_CASE("2 objects: 2 preserve orders x 5 restore subsets", "[expand]")
{
	auto cases = expand(parse_scenario(kTwo, "t.json"), Contract::agreed());
	REQUIRE(cases.size() == 10);
	CHECK(ids(cases) == std::vector<std::string>{
				    "kvm-gmem/p:vm,gmem/r:-",
				    "kvm-gmem/p:vm,gmem/r:vm",
				    "kvm-gmem/p:vm,gmem/r:gmem",
				    "kvm-gmem/p:vm,gmem/r:vm,gmem",
				    "kvm-gmem/p:vm,gmem/r:gmem,vm",
				    "kvm-gmem/p:gmem,vm/r:-",
				    "kvm-gmem/p:gmem,vm/r:vm",
				    "kvm-gmem/p:gmem,vm/r:gmem",
				    "kvm-gmem/p:gmem,vm/r:vm,gmem",
				    "kvm-gmem/p:gmem,vm/r:gmem,vm",
			    });
}

TEST_CASE("4 objects: 24 preserve orders x 65 restore subsets = 1560", "[expand]")
{
	Scenario sc = parse_scenario(kFour, "t.json");
	CHECK(preserve_orders(sc).size() == 24);
	CHECK(restore_orders(sc).size() == 65);
	auto cases = expand(sc, Contract::agreed());
	REQUIRE(cases.size() == 1560);
	auto v = ids(cases);
	CHECK(std::set<std::string>(v.begin(), v.end()).size() == 1560);
	CHECK(cases[0].vfio_devices() == 1);
}

TEST_CASE("ids are stable: same file, same ids; contract does not change them", "[expand]")
{
	Scenario sc = parse_scenario(kFour, "t.json");
	auto a = ids(expand(sc, Contract::agreed()));
	auto b = ids(expand(parse_scenario(kFour, "t.json"), Contract::agreed()));
	auto s = ids(expand(sc, luo::test::shipped("strict")));
	CHECK(a == b);
	CHECK(a == s);
}

TEST_CASE("random orders: seeded, distinct, a subset of all, same ids as all", "[expand]")
{
	const char *r = R"({"name": "four",
	  "objects": {"vm": "kvm-vm", "gmem": "guest-memfd", "iommu": "iommufd", "vfio": "vfio-cdev"},
	  "preserve": {"random": 5, "seed": 7}, "restore": {"random": 20, "seed": 7}})";
	auto x = ids(expand(parse_scenario(r, "t.json"), Contract::agreed()));
	auto y = ids(expand(parse_scenario(r, "t.json"), Contract::agreed()));
	CHECK(x == y);
	CHECK(x.size() == 100);
	auto all = ids(expand(parse_scenario(kFour, "t.json"), Contract::agreed()));
	std::set<std::string> universe(all.begin(), all.end());
	for (const auto &id : x)
		CHECK(universe.count(id));
	CHECK(std::set<std::string>(x.begin(), x.end()).size() == x.size());

	// Asking for more than exists stops at what exists.
	const char *small = R"({"objects": {"a": "memfd", "b": "memfd"}, "preserve": {"random": 50, "seed": 1}})";
	CHECK(preserve_orders(parse_scenario(small, "t.json")).size() == 2);
}

TEST_CASE("SplitMix64 and Fisher-Yates are the documented ones", "[expand]")
{
	SplitMix64 rng(0);
	CHECK(rng.next() == 0xe220a8397b1dcdafULL);
	CHECK(rng.next() == 0x6e789e6aa1b965f4ULL);
	SplitMix64 a(42), b(42);
	std::vector<int> v{0, 1, 2, 3, 4, 5, 6, 7}, w = v;
	shuffle(v, a);
	shuffle(w, b);
	CHECK(v == w);
	CHECK(std::set<int>(v.begin(), v.end()).size() == 8);
}

TEST_CASE("every case: creates first, own sessions, unique tokens, verify after retrieve", "[expand]")
{
	for (const auto &c : expand(parse_scenario(kFour, "t.json"), Contract::agreed())) {
		INFO(c.id);
		for (std::size_t i = 0; i < 4; i++)
			CHECK(c.steps[i].op == Op::create);
		CHECK(c.steps[4].op == Op::session_create);
		std::set<std::uint64_t> tokens;
		int kexecs = 0;
		for (std::size_t i = 0; i < c.steps.size(); i++) {
			const CaseStep &s = c.steps[i];
			if (s.op == Op::preserve)
				CHECK(tokens.insert(s.token).second);
			kexecs += s.op == Op::kexec;
			// Every object retrieved with its dependency held is verified.
			if (s.op == Op::retrieve && s.object == "vm") {
				bool verified = false;
				for (std::size_t j = i + 1; j < c.steps.size(); j++)
					verified = verified || (c.steps[j].op == Op::verify && c.steps[j].object == "vm");
				CHECK(verified);
			}
		}
		CHECK(kexecs == 1);
		CHECK(c.boots() == 1);
		CHECK_FALSE(c.refuses_kexec());
		CHECK(c.steps.back().expect.kind == Expect::Kind::ok);
	}
}

TEST_CASE("a busy FINISH is retried after retrieving what it waits for", "[expand]")
{
	auto cases = expand(parse_scenario(kTwo, "t.json"), Contract::agreed());
	const Case &c = cases[2];  // p:vm,gmem/r:gmem
	REQUIRE(c.id == "kvm-gmem/p:vm,gmem/r:gmem");
	std::vector<std::string> seq;
	for (const auto &s : c.steps)
		if (s.op == Op::finish || s.op == Op::retrieve)
			seq.push_back(std::string(luo::protocol::to_string(s.op)) + " " + s.object + "=" +
				      expect_text(s.expect));
	CHECK(seq == std::vector<std::string>{"retrieve gmem=ok", "finish =EBUSY", "retrieve vm=ok",
					      "finish =ok"});
}

TEST_CASE("no verify is planned without the fds it needs, wherever FINISH is", "[expand]")
{
	std::vector<std::string> specs;
	for (const char *busy : {"leave", "retrieve-missing", "reopen"}) {
		for (const char *at : {"0", "1", "2", "3", "4", "5", "\"end\"", "\"never\"", "[0, 2, 4]",
				       "[1, 2, 3, 4, 5]", "[3, 9]"})
			specs.push_back(four_with_finish(std::string(R"({"at": )") + at +
							 R"(, "on_busy": ")" + busy + "\"}"));
		// Two sessions finishing one after the other, a second kexec.
		specs.push_back(four_with_finish(std::string(R"({"at": 2, "on_busy": ")") + busy + "\"}",
						 R"(, "sessions": {"a": ["vm", "gmem"], "b": ["iommu", "vfio"]})"));
		specs.push_back(four_with_finish(std::string(R"({"at": 3, "on_busy": ")") + busy + "\"}",
						 R"(, "faults": [{"action": "retrieve-twice"}, {"action": "kexec-again"}])"));
		// Replies lost: a dependency and a dependent only the kernel holds.
		specs.push_back(four_with_finish(std::string(R"({"at": [2, 4], "on_busy": ")") + busy + "\"}",
						 R"(, "faults": [{"action": "retrieve-unwritable", "object": "vm"},
						    {"action": "retrieve-unwritable", "object": "vfio"}])"));
	}
	std::size_t n = 0;
	for (const auto &text : specs)
		for (const auto &name : luo::test::shipped_names())
			for (const auto &c : expand(parse_scenario(text, "t.json"), luo::test::shipped(name))) {
				check_verifies_are_possible(c);
				n++;
			}
	CHECK(n == specs.size() * luo::test::shipped_names().size() * 6 * 65);
}

namespace {

// "finish s=EBUSY"-style summary of a case's retrieves and FINISH calls.
std::vector<std::string> retrieves_and_finishes(const Case &c)
{
	std::vector<std::string> seq;
	for (const auto &s : c.steps)
		if (s.op == Op::finish || s.op == Op::retrieve)
			seq.push_back(std::string(luo::protocol::to_string(s.op)) + " " +
				      (s.op == Op::finish ? s.session : s.object) + "=" + expect_text(s.expect));
	return seq;
}

} // namespace

TEST_CASE("finish at a list of positions: FINISH after each, on_busy each time", "[expand]")
{
	const char *steps = R"({"name": "f", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd", "iommu": "iommufd",
	  "vfio": "vfio-cdev"}, "preserve": "declared", "restore": [["vfio", "gmem", "iommu", "vm"], ["vm", "gmem"]],
	  "finish": {"at": [2, 3, 4], "on_busy": "leave"}})";
	auto cases = expand(parse_scenario(steps, "t.json"), Contract::agreed());
	REQUIRE(cases.size() == 2);
	CHECK(retrieves_and_finishes(cases[0]) ==
	      std::vector<std::string>{"retrieve vfio=ok", "retrieve gmem=ok", "finish s=EBUSY", "retrieve iommu=ok",
				       "finish s=EBUSY", "retrieve vm=ok", "finish s=ok"});
	// Two retrieves only: 3 and 4 mean "after the last retrieve", where
	// FINISH already is.
	CHECK(retrieves_and_finishes(cases[1]) ==
	      std::vector<std::string>{"retrieve vm=ok", "retrieve gmem=ok", "finish s=ok"});
	const char *late = R"({"name": "f", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd"}, "preserve": "declared",
	  "restore": [["vm"]], "finish": [0, 5, 7]})";
	CHECK(retrieves_and_finishes(expand(parse_scenario(late, "t.json"), Contract::agreed())[0]) ==
	      std::vector<std::string>{"finish s=ok", "retrieve vm=ENOENT", "finish s=ok"});

	// With retrieve-missing the first busy FINISH is fixed at once; later
	// ones find the session finished (LUO: FINISH again is a no-op).
	const char *fix = R"({"name": "f", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd"}, "preserve": "declared",
	  "restore": [["gmem", "vm"]], "finish": [0, 1, 2]})";
	auto fixed = expand(parse_scenario(fix, "t.json"), Contract::agreed());
	CHECK(retrieves_and_finishes(fixed[0]) ==
	      std::vector<std::string>{"finish s=ok", "retrieve gmem=ENOENT", "finish s=ok", "retrieve vm=ENOENT",
				       "finish s=ok"});
	const char *busy = R"({"name": "f", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd"}, "preserve": "declared",
	  "restore": [["gmem", "vm"]], "finish": {"at": [1, 2]}})";
	CHECK(retrieves_and_finishes(expand(parse_scenario(busy, "t.json"), Contract::agreed())[0]) ==
	      std::vector<std::string>{"retrieve gmem=ok", "finish s=EBUSY", "retrieve vm=ok", "finish s=ok",
				       "retrieve vm=ENOENT", "finish s=ok"});
}

TEST_CASE("on_busy reopen: close, retrieve the session again, the same files, then what is missing",
	  "[expand]")
{
	const char *text = R"({"name": "f", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd", "mem": "memfd"},
	  "preserve": "declared", "restore": [["mem", "gmem"], ["vm"]], "finish": {"at": 2, "on_busy": "reopen"}})";
	auto cases = expand(parse_scenario(text, "t.json"), Contract::agreed());
	REQUIRE(cases.size() == 2);
	auto after_kexec = [](const Case &c) {
		std::vector<std::string> seq;
		bool crossed = false;
		for (const auto &s : c.steps) {
			crossed = crossed || s.op == Op::kexec;
			if (crossed && s.op != Op::kexec && s.op != Op::verify && s.op != Op::run_vcpu)
				seq.push_back(std::string(luo::protocol::to_string(s.op)) + " " +
					      (s.object.empty() ? s.session : s.object) + "=" +
					      expect_text(s.expect));
		}
		return seq;
	};
	// Busy: the close tears nothing down, so the session comes back with
	// mem and gmem as they were, and FINISH waits for vm only.
	CHECK(after_kexec(cases[0]) ==
	      std::vector<std::string>{"session-retrieve s=ok", "retrieve mem=ok", "retrieve gmem=ok",
				       "finish s=EBUSY", "session-close s=ok", "session-retrieve s=ok",
				       "same-object gmem=ok", "same-object mem=ok", "retrieve vm=ok",
				       "finish s=ok"});
	// FINISH succeeds at once: nothing to reopen.
	CHECK(after_kexec(cases[1]) ==
	      std::vector<std::string>{"session-retrieve s=ok", "retrieve vm=ok", "finish s=ok"});
}

TEST_CASE("finish at one position: a scalar and a list of one are the same story", "[expand]")
{
	for (const char *at : {"0", "1", "2", "3"}) {
		INFO(at);
		std::string scalar = std::string(R"({"name": "f", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd"},
		  "finish": {"on_busy": "leave", "at": )") + at + "}}";
		std::string list = std::string(R"({"name": "f", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd"},
		  "finish": {"on_busy": "leave", "at": [)") + at + "]}}";
		CHECK(render_plan_text(expand(parse_scenario(scalar, "t.json"), Contract::agreed())) ==
		      render_plan_text(expand(parse_scenario(list, "t.json"), Contract::agreed())));
	}
}

// Steps of `op` in `c`, as "object=token".
std::vector<std::string> tokens_of(const Case &c, Op op)
{
	std::vector<std::string> out;
	for (const auto &s : c.steps)
		if (s.op == op)
			out.push_back(s.object + "=" + std::to_string(s.token));
	return out;
}

TEST_CASE("a token given in the file is the one preserved and retrieved", "[expand]")
{
	const char *big = R"({"name": "t", "objects": {"vm": "kvm-vm",
	  "gmem": {"kind": "guest-memfd", "token": "0xfffffffffffffff5"}},
	  "preserve": "declared", "restore": [["vm", "gmem"]],
	  "faults": [{"action": "retrieve-twice"}]})";
	for (const auto &name : luo::test::shipped_names()) {
		INFO(name);
		auto cases = expand(parse_scenario(big, "t.json"), luo::test::shipped(name));
		REQUIRE(cases.size() == 1);
		const Case &c = cases[0];
		CHECK(c.id == "t/p:vm,gmem/r:vm,gmem");  // the token is not part of the id
		CHECK(tokens_of(c, Op::preserve) ==
		      std::vector<std::string>{"vm=1", "gmem=18446744073709551605"});
		CHECK(tokens_of(c, Op::same_object) == tokens_of(c, Op::retrieve));
		for (const auto &s : c.steps)
			CHECK(s.expect.kind == Expect::Kind::ok);
	}
}

TEST_CASE("fault tokens move past the tokens a file chose", "[expand]")
{
	// reuse-token takes the chosen token; preserve-twice's 100 + token and
	// retrieve-unknown's 999 would hit a chosen token and give EEXIST or
	// a file instead of EBUSY and ENOENT.
	const char *clash = R"({"name": "t", "objects": {
	  "a": "memfd", "b": {"kind": "memfd", "token": 101}, "c": {"kind": "memfd", "token": 999},
	  "d": {"kind": "memfd", "token": 1000}},
	  "preserve": "declared", "restore": "declared",
	  "faults": [{"action": "reuse-token", "object": "a", "token_of": "c"},
		     {"action": "preserve-twice", "object": "a"},
		     {"action": "retrieve-unknown", "session": "s"}]})";
	auto cases = expand(parse_scenario(clash, "t.json"), Contract::agreed());
	REQUIRE(cases.size() == 1);
	const Case &c = cases[0];
	CHECK(tokens_of(c, Op::preserve) ==
	      std::vector<std::string>{"a=1", "b=101", "c=999", "d=1000", "a=999", "a=102"});
	std::vector<std::string> preserve_errs;
	for (const auto &s : c.steps)
		if (s.op == Op::preserve && s.expect.kind != Expect::Kind::ok)
			preserve_errs.push_back(s.expect.err);
	CHECK(preserve_errs == std::vector<std::string>{"EEXIST", "EBUSY"});
	auto unknown = std::find_if(c.steps.begin(), c.steps.end(),
				    [](const CaseStep &s) { return s.op == Op::retrieve && s.object.empty(); });
	REQUIRE(unknown != c.steps.end());
	CHECK(unknown->token == 1001);
	CHECK(unknown->expect.err == "ENOENT");

	// Files that choose no token keep the tokens they always had.
	const char *plain = R"({"name": "t", "objects": {"a": "memfd", "b": "memfd"},
	  "preserve": "declared", "restore": "declared",
	  "faults": [{"action": "preserve-twice", "object": "b"}, {"action": "retrieve-unknown", "session": "s"}]})";
	auto p = expand(parse_scenario(plain, "t.json"), Contract::agreed());
	CHECK(tokens_of(p[0], Op::preserve) == std::vector<std::string>{"a=1", "b=2", "b=102"});
	CHECK(tokens_of(p[0], Op::retrieve) == std::vector<std::string>{"=999", "a=1", "b=2"});
}

TEST_CASE("close-object: the fd goes after the preserves, the file still crosses", "[expand]")
{
	const char *closed = R"({"name": "c", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd", "mem": "memfd"},
	  "preserve": "all", "restore": "all",
	  "faults": [{"action": "close-object", "object": "vm"}, {"action": "close-object", "object": "gmem"},
		     {"action": "close-object", "object": "mem"}]})";
	for (const auto &name : luo::test::shipped_names()) {
		INFO(name);
		for (const auto &c : expand(parse_scenario(closed, "t.json"), luo::test::shipped(name))) {
			INFO(c.id);
			check_verifies_are_possible(c);
			auto kexec = std::find_if(c.steps.begin(), c.steps.end(),
						  [](const CaseStep &s) { return s.op == Op::kexec; });
			REQUIRE(kexec != c.steps.end());
			// The three closes come right before the kexec, after every preserve.
			REQUIRE(kexec - c.steps.begin() >= 3);
			for (auto it = kexec - 3; it != kexec; ++it) {
				CHECK(it->op == Op::close_object);
				CHECK(it->expect.kind == Expect::Kind::ok);
			}
			// Under agreed (strict's S1 and S3 refuse some orders of
			// their own), whatever userspace retrieves and checks works
			// as if it had never let go of its fd.
			if (name != "agreed")
				continue;
			CHECK(kexec->expect.kind == Expect::Kind::ok);
			for (auto it = kexec + 1; it != c.steps.end(); ++it)
				if (it->op == Op::retrieve || it->op == Op::verify)
					CHECK(it->expect.kind == Expect::Kind::ok);
		}
	}
}

TEST_CASE("a retrieve-unwritable fault on an object never restored is rejected", "[expand]")
{
	const char *never = R"({"name": "u", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd"},
	  "preserve": "declared", "restore": [["gmem"], []],
	  "faults": [{"action": "retrieve-unwritable", "object": "vm"}]})";
	for (const auto &name : luo::test::shipped_names()) {
		try {
			expand(parse_scenario(never, "t.json"), luo::test::shipped(name));
			FAIL("accepted a fault that shapes no case");
		} catch (const ScenarioError &e) {
			CHECK(e.pointer() == "/faults/0/object");
			CHECK_THAT(e.what(), ContainsSubstring("'vm' is in no restore order"));
		}
	}
}

TEST_CASE("refused kexec: the case cleans up and runs alone", "[expand]")
{
	const char *cross = R"({"name": "x", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd"},
	  "sessions": {"a": ["vm"], "b": ["gmem"]}, "preserve": "declared", "restore": "declared"})";
	auto cases = expand(parse_scenario(cross, "t.json"), Contract::agreed());
	REQUIRE(cases.size() == 1);
	const Case &c = cases[0];
	CHECK(c.refuses_kexec());
	CHECK(c.boots() == 0);
	CHECK(c.steps[c.steps.size() - 2].op == Op::session_close);
	CHECK(c.steps.back().op == Op::session_close);
	CHECK(c.steps.back().expect.rule == "C8");

	auto strict = expand(parse_scenario(cross, "t.json"), luo::test::shipped("strict"));
	CHECK_FALSE(strict[0].refuses_kexec());
	CHECK(strict[0].boots() == 1);
}

TEST_CASE("explicit expectations must agree with the oracle", "[expand]")
{
	const char *wrong = R"({
  "name": "kvm-gmem",
  "objects": {"vm": "kvm-vm", "gmem": "guest-memfd"},
  "expect": [
    {"case": "p:vm,gmem/r:gmem", "step": "finish s", "result": "ok"}
  ]
})";
	Scenario sc = parse_scenario(wrong, "scenarios/w.json");
	try {
		expand(sc, Contract::agreed());
		FAIL("no error");
	} catch (const ScenarioError &e) {
		CHECK(e.line() == 5);
		CHECK(e.pointer() == "/expect/0/result");
		CHECK_THAT(e.what(), ContainsSubstring("case kvm-gmem/p:vm,gmem/r:gmem"));
		CHECK_THAT(e.what(), ContainsSubstring("'finish s' is written as ok but the agreed contract says EBUSY (rule C4)"));
	}
	// A contract-specific expectation is ignored under the other contract.
	const char *scoped = R"({"objects": {"vm": "kvm-vm", "gmem": "guest-memfd"}, "preserve": [["gmem", "vm"]],
	  "restore": [["gmem"]], "expect": [{"contract": "strict", "step": "preserve gmem", "result": "ENOENT"},
	  {"contract": "agreed", "step": "finish s", "result": "EBUSY"}]})";
	CHECK(expand(parse_scenario(scoped, "t.json"), Contract::agreed()).size() == 1);
	CHECK(expand(parse_scenario(scoped, "t.json"), luo::test::shipped("strict")).size() == 1);

	const char *nocase = R"({"objects": {"m": "memfd"}, "expect": [{"case": "p:x/r:-", "step": "kexec", "result": "ok"}]})";
	CHECK_THROWS_WITH(expand(parse_scenario(nocase, "t.json"), Contract::agreed()),
			  ContainsSubstring("no case 'p:x/r:-'"));
	const char *nostep = R"({"objects": {"m": "memfd"}, "expect": [{"step": "kexec#3", "result": "ok"}]})";
	CHECK_THROWS_WITH(expand(parse_scenario(nostep, "t.json"), Contract::agreed()),
			  ContainsSubstring("no step 'kexec#3'"));
}

TEST_CASE("plan rendering: one text line per case, JSON with expectations", "[expand]")
{
	auto cases = expand(parse_scenario(kTwo, "t.json"), Contract::agreed());
	std::string text = render_plan_text(cases);
	CHECK(std::count(text.begin(), text.end(), '\n') == 10);
	CHECK_THAT(text, ContainsSubstring("kvm-gmem/p:vm,gmem/r:gmem create(vm)=ok:setup"));
	CHECK_THAT(text, ContainsSubstring("finish(s)=EBUSY:C4"));
	auto j = plan_json(cases);
	CHECK(j["cases"] == 10);
	CHECK(j["plan"][2]["id"] == "kvm-gmem/p:vm,gmem/r:gmem");
	CHECK(j["plan"][2]["steps"][0]["op"] == "create");
	CHECK(j["plan"][2]["steps"][0]["expect"] == "ok");
}

#ifdef LUO_RIG_SOURCE_DIR
TEST_CASE("the default suite expands under every contract", "[expand][suite]")
{
	namespace fs = std::filesystem;
	std::vector<std::string> files;
	for (const auto &e : fs::recursive_directory_iterator(fs::path(LUO_RIG_SOURCE_DIR) / "scenarios"))
		if (e.path().extension() == ".json" && e.path().filename() != "schema.json" &&
		    e.path().parent_path().filename() != "contracts")
			files.push_back(e.path().string());
	std::sort(files.begin(), files.end());
	REQUIRE(files.size() >= 13);
	for (const auto &name : luo::test::shipped_names()) {
		INFO(name);
		auto cases = expand_files(files, luo::test::shipped(name));
		auto v = ids(cases);
		CHECK(std::set<std::string>(v.begin(), v.end()).size() == v.size());
		for (const auto &c : cases)
			check_verifies_are_possible(c);
	}
	auto four = expand(load_scenario(std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/deps/all-four.json"),
			   Contract::agreed());
	CHECK(four.size() == 1560);
	auto smoke = expand(load_scenario(std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/smoke/memfd.json"),
			    Contract::agreed());
	CHECK(smoke.size() == 1);
}
#endif

TEST_CASE("verify-fresh follows the restored object's own check, after the kexec only", "[expand]")
{
	const char *fresh = R"({"name": "f", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd", "mem": "memfd"},
	  "preserve": [["vm", "gmem", "mem"]], "restore": [["gmem", "mem", "vm"]],
	  "faults": [{"action": "verify-fresh", "object": "gmem"}, {"action": "verify-fresh", "object": "mem"}]})";
	auto cases = expand(parse_scenario(fresh, "t.json"), Contract::agreed());
	REQUIRE(cases.size() == 1);
	const auto &steps = cases[0].steps;
	std::vector<std::string> seen;
	for (std::size_t i = 0; i < steps.size(); i++) {
		if (steps[i].op != Op::verify_fresh)
			continue;
		seen.push_back(steps[i].object);
		CHECK(steps[i].expect.kind == Expect::Kind::any_error);
		CHECK(steps[i].expect.rule == "fresh");
		// Right after the same object's verify, which must pass (and
		// a guest_memfd's run-vcpu, the other half of its check).
		std::size_t v = i - (steps[i].object == "gmem" ? 2 : 1);
		REQUIRE(i > 1);
		CHECK(steps[v].op == Op::verify);
		CHECK(steps[v].object == steps[i].object);
		CHECK(steps[v].expect.kind == Expect::Kind::ok);
		if (steps[i].object == "gmem") {
			CHECK(steps[i - 1].op == Op::run_vcpu);
			CHECK(steps[i - 1].object == "gmem");
			CHECK(steps[i - 1].expect.kind == Expect::Kind::ok);
		}
	}
	// gmem's check waits for its VM, retrieved last.
	CHECK(seen == std::vector<std::string>{"mem", "gmem"});
	auto kexec = std::find_if(steps.begin(), steps.end(), [](const CaseStep &s) { return s.op == Op::kexec; });
	CHECK(std::find_if(steps.begin(), kexec, [](const CaseStep &s) { return s.op == Op::verify_fresh; }) ==
	      kexec);

	CHECK_THROWS_WITH(parse_scenario(R"({"objects": {"iommu": "iommufd"},
	  "faults": [{"action": "verify-fresh", "object": "iommu"}]})", "t.json"),
			  ContainsSubstring("maps no memfd, so verify checks nothing of its own"));
	// One that maps a memfd has its IOAS and mapping to show.
	CHECK_NOTHROW(parse_scenario(R"({"objects": {"mem": "memfd",
	  "iommu": {"kind": "iommufd", "depends_on": "mem"}},
	  "faults": [{"action": "verify-fresh", "object": "iommu"}]})", "t.json"));
	CHECK_THROWS_WITH(expand(parse_scenario(R"({"objects": {"mem": "memfd", "m2": "memfd"},
	  "restore": [["mem"], ["m2"]], "faults": [{"action": "verify-fresh", "object": "mem"}]})", "t.json"),
				 Contract::agreed()),
			  ContainsSubstring("'mem' is not in every restore order"));
}

TEST_CASE("open-device: the node before anything is retrieved, and once more when LUO lets go",
	  "[expand]")
{
	const char *open = R"({"name": "o", "objects": {"iommu": "iommufd",
	  "vfio": {"kind": "vfio-cdev", "depends_on": "iommu"}},
	  "preserve": [["iommu", "vfio"]], "restore": [["vfio", "iommu"], ["iommu"]],
	  "faults": [{"action": "open-device", "object": "vfio"}]})";
	auto cases = expand(parse_scenario(open, "t.json"), Contract::agreed());
	REQUIRE(cases.size() == 2);
	// The opens with the step before each, as "op object=outcome".
	auto opens = [](const Case &c) {
		std::vector<std::string> out;
		for (std::size_t i = 1; i < c.steps.size(); i++) {
			if (c.steps[i].op != Op::open_device)
				continue;
			const CaseStep &before = c.steps[i - 1];
			const Expect &e = c.steps[i].expect;
			const std::string &target = before.object.empty() ? before.session : before.object;
			out.push_back(std::string(luo::protocol::to_string(before.op)) + " " + target + " -> " +
				      (e.kind == Expect::Kind::ok ? "ok" : e.err) + ":" + e.rule);
		}
		return out;
	};
	// Retrieved: busy until its own retrieve, and opened again only once.
	CHECK(opens(cases[0]) == std::vector<std::string>{"session-retrieve s -> EBUSY:D1",
							  "retrieve vfio -> ok:LUO"});
	// Never retrieved: FINISH drops it, and then it opens.
	CHECK(opens(cases[1]) ==
	      std::vector<std::string>{"session-retrieve s -> EBUSY:D1", "finish s -> ok:LUO"});

	CHECK_THROWS_WITH(parse_scenario(R"({"objects": {"mem": "memfd"},
	  "faults": [{"action": "open-device", "object": "mem"}]})", "t.json"),
			  ContainsSubstring("'mem' is a memfd, which has no device node; name a vfio-cdev"));
}

TEST_CASE("run-vcpu follows a restored guest_memfd's first verify, once per kernel crossed", "[expand]")
{
	auto cases = expand(load_scenario(std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/deps/kvm-gmem.json"),
			    Contract::agreed());
	REQUIRE_FALSE(cases.empty());
	int with = 0;
	for (const auto &c : cases) {
		INFO(c.id);
		bool crossed = false;
		int verifies = 0, runs = 0;
		for (std::size_t i = 0; i < c.steps.size(); i++) {
			const auto &s = c.steps[i];
			crossed = crossed || (s.op == Op::kexec && s.expect.kind == Expect::Kind::ok);
			verifies += crossed && s.op == Op::verify && s.object == "gmem";
			if (s.op != Op::run_vcpu)
				continue;
			runs++;
			CHECK(crossed);
			CHECK(s.object == "gmem");
			CHECK(s.expect.kind == Expect::Kind::ok);
			CHECK(s.expect.rule == "C3");
			REQUIRE(i > 0);
			CHECK(c.steps[i - 1].op == Op::verify);
			CHECK(c.steps[i - 1].object == "gmem");
		}
		// Checked in the new kernel at all: read by a vCPU exactly once.
		CHECK(runs == (verifies > 0 ? 1 : 0));
		with += runs;
	}
	CHECK(with > 0);
}
