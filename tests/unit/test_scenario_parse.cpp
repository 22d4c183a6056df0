// SPDX-License-Identifier: GPL-2.0-only
//
// Parser errors must put a kernel developer on the right line and say how
// to fix it: file:line:column, JSON pointer, message.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "core/scenario.hpp"

using namespace luo::core;
using Catch::Matchers::ContainsSubstring;

namespace {

ScenarioError error_of(const std::string &text)
{
	try {
		parse_scenario(text, "scenarios/x.json");
	} catch (const ScenarioError &e) {
		return e;
	}
	FAIL("no ScenarioError for:\n" << text);
	throw;  // unreachable
}

const char *kKvm = R"({
  "objects": {"vm": "kvm-vm", "gmem": "guest-memfd"},
  "preserve": "all",
  "restore": "all"
})";

} // namespace

TEST_CASE("a well-formed scenario parses", "[scenario]")
{
	Scenario sc = parse_scenario(kKvm, "scenarios/deps/kvm.json");
	CHECK(sc.name == "kvm");
	REQUIRE(sc.objects.size() == 2);
	CHECK(sc.objects[1].depends_on == "vm");      // implied: the only kvm-vm
	CHECK(sc.objects[1].size == 2097152);         // default guest-memfd size
	REQUIRE(sc.sessions.size() == 1);             // default: one session "s"
	CHECK(sc.sessions[0].name == "s");
	CHECK(sc.sessions[0].objects == std::vector<std::string>{"vm", "gmem"});
	CHECK(sc.session_of("gmem") == "s");
}

TEST_CASE("semantic error: unknown object in an explicit restore order", "[scenario]")
{
	auto e = error_of(R"({
  "objects": {"vm": "kvm-vm", "gmem": "guest-memfd"},
  "restore": {"orders": [
    ["vm"],
    ["vmm", "gmem"]
  ]}
})");
	CHECK(std::string(e.what()) ==
	      "scenarios/x.json:5:6: at /restore/orders/1/0: unknown object 'vmm'; objects are: vm, gmem");
	CHECK(e.file() == "scenarios/x.json");
	CHECK(e.line() == 5);
	CHECK(e.column() == 6);
	CHECK(e.pointer() == "/restore/orders/1/0");
}

TEST_CASE("syntax error: position from nlohmann's byte offset, pointer from the scanner", "[scenario]")
{
	auto e = error_of("{\n  \"objects\": {\"vm\": \"kvm-vm\",}\n}");
	CHECK(e.line() == 2);
	CHECK(e.column() == 30);  // the '}' after the trailing comma
	CHECK(e.pointer() == "/objects");
	CHECK_THAT(e.what(), ContainsSubstring("scenarios/x.json:2:30: at /objects: not valid JSON"));
}

TEST_CASE("unknown field points at the key and lists the valid ones", "[scenario]")
{
	auto e = error_of("{\n  \"objects\": {\"m\": \"memfd\"},\n  \"restroe\": \"all\"\n}");
	CHECK(e.line() == 3);
	CHECK(e.column() == 3);
	CHECK(e.pointer() == "/restroe");
	CHECK_THAT(e.what(), ContainsSubstring("unknown field 'restroe'; fields here are:"));
	CHECK_THAT(e.what(), ContainsSubstring("restore"));
}

TEST_CASE("object errors", "[scenario]")
{
	auto kind = error_of(R"({"objects": {"vm": "kvm"}})");
	CHECK(kind.pointer() == "/objects/vm");
	CHECK(kind.column() == 20);  // the value, not the key
	CHECK_THAT(kind.what(), ContainsSubstring("unknown kind 'kvm'; kinds are: memfd, kvm-vm"));

	auto dep = error_of(R"({"objects": {"i": "iommufd", "g": {"kind": "guest-memfd", "depends_on": "i"}}})");
	CHECK(dep.pointer() == "/objects/g/depends_on");
	CHECK_THAT(dep.what(), ContainsSubstring("'i' is not a kvm-vm object; declare one"));

	// An iommufd depends on a memfd only when told to: the one it maps.
	auto mapped = error_of(R"({"objects": {"vm": "kvm-vm", "i": {"kind": "iommufd", "depends_on": "vm"}}})");
	CHECK(mapped.pointer() == "/objects/i/depends_on");
	CHECK_THAT(mapped.what(), ContainsSubstring("'vm' is not a memfd object; declare one"));
	auto chain = parse_scenario(R"({"objects": {"v": {"kind": "vfio-cdev", "depends_on": "i"}, "i": {"kind": "iommufd", "depends_on": "m"},
	  "m": "memfd", "lone": "iommufd", "v2": {"kind": "vfio-cdev", "depends_on": "lone"}}})", "t.json");
	CHECK(chain.object("i")->depends_on == "m");
	CHECK(chain.object("lone")->depends_on.empty());

	auto ambiguous = error_of(R"({"objects": {"a": "kvm-vm", "b": "kvm-vm", "g": "guest-memfd"}})");
	CHECK(ambiguous.pointer() == "/objects/g");
	CHECK_THAT(ambiguous.what(), ContainsSubstring("\"depends_on\": one of a, b"));

	auto size = error_of(R"({"objects": {"m": {"kind": "memfd", "size": 1000}}})");
	CHECK(size.pointer() == "/objects/m/size");
	CHECK_THAT(size.what(), ContainsSubstring("multiple of 4096"));

	auto small = error_of(R"({"objects": {"vm": "kvm-vm", "g": {"kind": "guest-memfd", "size": 8192}}})");
	CHECK(small.pointer() == "/objects/g/size");
	CHECK_THAT(small.what(), ContainsSubstring("at least 12288 bytes"));

	auto vm_size = error_of(R"({"objects": {"vm": {"kind": "kvm-vm", "size": 4096}}})");
	CHECK_THAT(vm_size.what(), ContainsSubstring("only memfd and guest-memfd"));

	auto name = error_of(R"({"objects": {"a,b": "memfd"}})");
	CHECK(name.pointer() == "/objects/a,b");
	CHECK(name.column() == 14);  // the key
}

TEST_CASE("tokens: the position by default, any 64-bit value when given", "[scenario]")
{
	Scenario sc = parse_scenario(R"({"objects": {
	  "a": "memfd",
	  "b": {"kind": "memfd", "token": "0xfffffffffffffff5"},
	  "c": {"kind": "memfd", "token": 18446744073709551615},
	  "d": {"kind": "memfd", "token": 0},
	  "e": {"kind": "memfd", "token": "7"}}})", "t.json");
	REQUIRE(sc.objects.size() == 5);
	CHECK(sc.objects[0].token == 1);
	CHECK_FALSE(sc.objects[0].token_set);
	CHECK(sc.objects[1].token == 0xfffffffffffffff5ull);
	CHECK(sc.objects[2].token == 0xffffffffffffffffull);
	CHECK(sc.objects[3].token == 0);  // LUO takes any u64
	CHECK(sc.objects[4].token == 7);

	// Tokens are per session: the same one in two sessions is fine.
	Scenario two = parse_scenario(R"({"objects": {"a": "memfd", "b": {"kind": "memfd", "token": 1}},
	  "sessions": {"s": ["a"], "t": ["b"]}})", "t.json");
	CHECK(two.objects[1].token == 1);
}

TEST_CASE("token errors name the object and the fix", "[scenario]")
{
	auto word = error_of(R"({"objects": {"m": {"kind": "memfd", "token": "big"}}})");
	CHECK(word.pointer() == "/objects/m/token");
	CHECK_THAT(word.what(), ContainsSubstring("a 64-bit unsigned integer"));
	CHECK_THAT(word.what(), ContainsSubstring("\"0xfffffffffffffff5\""));

	auto negative = error_of(R"({"objects": {"m": {"kind": "memfd", "token": -1}}})");
	CHECK(negative.pointer() == "/objects/m/token");

	auto fraction = error_of(R"({"objects": {"m": {"kind": "memfd", "token": 1.5}}})");
	CHECK(fraction.pointer() == "/objects/m/token");

	auto wide = error_of(R"({"objects": {"m": {"kind": "memfd", "token": "0x10000000000000000"}}})");
	CHECK_THAT(wide.what(), ContainsSubstring("does not fit in 64 bits"));

	// A JSON number past 2^64 is a double to nlohmann: the string form is the way out.
	auto huge = error_of(R"({"objects": {"m": {"kind": "memfd", "token": 18446744073709551616}}})");
	CHECK(huge.pointer() == "/objects/m/token");

	auto twice = error_of(R"({"objects": {
  "a": {"kind": "memfd", "token": "0x10"},
  "b": {"kind": "memfd", "token": 16}
}})");
	CHECK(std::string(twice.what()) ==
	      "scenarios/x.json:3:35: at /objects/b/token: token 16 of 'b' is also the token of 'a' in "
	      "session 's'; tokens are unique per session, give one of them another \"token\"");

	// The default token is the position: 'b' would take 2, which 'a' chose.
	auto with_default = error_of(R"({"objects": {"a": {"kind": "memfd", "token": 2}, "b": "memfd"}})");
	CHECK(with_default.pointer() == "/objects/b");
	CHECK_THAT(with_default.what(), ContainsSubstring("('b' takes its position by default)"));
}

TEST_CASE("session errors", "[scenario]")
{
	auto twice = error_of(R"({"objects": {"m": "memfd"}, "sessions": {"a": ["m"], "b": ["m"]}})");
	CHECK(twice.pointer() == "/sessions/b/0");
	CHECK_THAT(twice.what(), ContainsSubstring("already in session 'a'"));

	auto orphan = error_of(R"({"objects": {"m": "memfd", "n": "memfd"}, "sessions": {"a": ["m"]}})");
	CHECK(orphan.pointer() == "/sessions");
	CHECK_THAT(orphan.what(), ContainsSubstring("n are in no session"));
}

TEST_CASE("order errors", "[scenario]")
{
	auto missing = error_of(R"({"objects": {"vm": "kvm-vm", "gmem": "guest-memfd"}, "preserve": [["vm"]]})");
	CHECK(missing.pointer() == "/preserve/0");
	CHECK_THAT(missing.what(), ContainsSubstring("missing: gmem"));

	auto repeat = error_of(R"({"objects": {"m": "memfd"}, "restore": [["m", "m"]]})");
	CHECK(repeat.pointer() == "/restore/0/1");
	CHECK_THAT(repeat.what(), ContainsSubstring("retrieve-twice"));

	auto dup = error_of(R"({"objects": {"m": "memfd"}, "restore": [["m"], ["m"]]})");
	CHECK(dup.pointer() == "/restore/1");

	auto mode = error_of(R"({"objects": {"m": "memfd"}, "preserve": "all-orders"})");
	CHECK(mode.pointer() == "/preserve");

	auto random = error_of(R"({"objects": {"m": "memfd"}, "restore": {"random": 3}})");
	CHECK_THAT(random.what(), ContainsSubstring("needs both"));

	auto pinned = error_of(R"({"objects": {"m": {"kind": "memfd", "pinned": true}, "n": "memfd"}, "restore": [["m"]]})");
	CHECK(pinned.pointer() == "/restore/0/0");
	CHECK_THAT(pinned.what(), ContainsSubstring("pinned"));
}

TEST_CASE("fault, needs, finish and expect errors", "[scenario]")
{
	auto action = error_of(R"({"objects": {"m": "memfd"}, "faults": [{"action": "explode"}]})");
	CHECK(action.pointer() == "/faults/0/action");
	CHECK_THAT(action.what(), ContainsSubstring("actions are: close-session"));

	auto session = error_of(R"({"objects": {"m": "memfd"}, "faults": [{"action": "close-session", "session": "x"}]})");
	CHECK(session.pointer() == "/faults/0/session");
	CHECK_THAT(session.what(), ContainsSubstring("sessions are: s"));

	auto unwritable = error_of(R"({"objects": {"m": "memfd"}, "faults": [{"action": "retrieve-unwritable"}]})");
	CHECK(unwritable.pointer() == "/faults/0");
	CHECK_THAT(unwritable.what(), ContainsSubstring("action 'retrieve-unwritable' needs \"object\""));
	auto unwritable_obj = error_of(
		R"({"objects": {"m": "memfd"}, "faults": [{"action": "retrieve-unwritable", "object": "n"}]})");
	CHECK(unwritable_obj.pointer() == "/faults/0/object");
	auto unwritable_field = error_of(
		R"({"objects": {"m": "memfd"}, "faults": [{"action": "retrieve-unwritable", "objects": ["m"]}]})");
	CHECK(unwritable_field.pointer() == "/faults/0/objects");

	auto token = error_of(R"({"objects": {"a": "memfd", "b": "memfd"}, "sessions": {"s": ["a"], "t": ["b"]},
		"faults": [{"action": "reuse-token", "object": "b", "token_of": "a"}]})");
	CHECK(token.pointer() == "/faults/0/token_of");
	CHECK_THAT(token.what(), ContainsSubstring("tokens are per session"));

	auto closed = error_of(R"({"objects": {"m": "memfd"}, "faults": [{"action": "close-object", "object": "n"}]})");
	CHECK(closed.pointer() == "/faults/0/object");
	CHECK_THAT(closed.what(), ContainsSubstring("unknown object 'n'"));

	auto closed_field = error_of(
		R"({"objects": {"m": "memfd"}, "faults": [{"action": "close-object", "object": "m", "session": "s"}]})");
	CHECK(closed_field.pointer() == "/faults/0/session");

	// Nothing may preserve an object after the VMM closed its fd.
	auto reopened = error_of(R"({"objects": {"m": "memfd"}, "faults": [
		{"action": "close-object", "object": "m"},
		{"action": "close-session", "session": "s"}]})");
	CHECK(reopened.pointer() == "/faults/0/object");
	CHECK_THAT(reopened.what(), ContainsSubstring("the fault at /faults/1 preserves 'm' again"));
	CHECK_THAT(reopened.what(), ContainsSubstring("put the close-object after it"));
	parse_scenario(R"({"objects": {"m": "memfd"}, "faults": [
		{"action": "close-session", "session": "s"},
		{"action": "close-object", "object": "m"}]})", "t.json");

	auto withheld = error_of(R"({"objects": {"vm": "kvm-vm", "gmem": "guest-memfd"}, "faults": [
		{"action": "retry-kexec", "withhold": ["vm"]},
		{"action": "close-object", "object": "vm"}]})");
	CHECK(withheld.pointer() == "/faults/1/object");
	CHECK_THAT(withheld.what(), ContainsSubstring("withheld by the retry-kexec at /faults/0"));

	auto twice = error_of(R"({"objects": {"m": "memfd"}, "faults": [
		{"action": "close-object", "object": "m"},
		{"action": "close-object", "object": "m"}]})");
	CHECK(twice.pointer() == "/faults/1/object");
	CHECK_THAT(twice.what(), ContainsSubstring("already closed by /faults/0"));

	auto needs = error_of(R"({"needs": {"vfio_devices": 2}, "objects": {"i": "iommufd", "v": "vfio-cdev"}})");
	CHECK(needs.pointer() == "/needs/vfio_devices");
	CHECK_THAT(needs.what(), ContainsSubstring("write 1"));

	auto finish = error_of(R"({"objects": {"m": "memfd"}, "finish": {"at": "later"}})");
	CHECK(finish.pointer() == "/finish/at");
	CHECK_THAT(finish.what(), ContainsSubstring("or a list of them"));

	auto step = error_of(R"({"objects": {"m": "memfd"}, "expect": [{"step": "preserve x", "result": "ok"}]})");
	CHECK(step.pointer() == "/expect/0/step");
	CHECK_THAT(step.what(), ContainsSubstring("unknown object 'x'"));

	auto result = error_of(R"({"objects": {"m": "memfd"}, "expect": [{"step": "kexec", "result": "EWHAT"}]})");
	CHECK(result.pointer() == "/expect/0/result");
}

TEST_CASE("finish: a position, a list of positions, or end/never", "[scenario]")
{
	auto at = [](const char *finish) {
		return parse_scenario(std::string(R"({"objects": {"m": "memfd"}, "finish": )") + finish + "}",
				      "t.json")
			.finish;
	};
	CHECK(at("2").at == FinishSpec::At::after);
	CHECK(at("2").after == std::vector<unsigned>{2});
	CHECK(at(R"({"at": [2, 3, 4], "on_busy": "leave"})").after == std::vector<unsigned>{2, 3, 4});
	CHECK(at(R"({"at": [2, 3, 4], "on_busy": "leave"})").on_busy == FinishSpec::OnBusy::leave);
	CHECK(at(R"({"on_busy": "reopen"})").on_busy == FinishSpec::OnBusy::reopen);
	CHECK(at("[0]").after == std::vector<unsigned>{0});
	CHECK(at(R"("end")").at == FinishSpec::At::end);
	CHECK(at(R"({"on_busy": "leave"})").at == FinishSpec::At::end);
}

TEST_CASE("finish list errors point at the list or the element", "[scenario]")
{
	auto empty = error_of("{\"objects\": {\"m\": \"memfd\"},\n \"finish\": {\"at\": []}}");
	CHECK(empty.pointer() == "/finish/at");
	CHECK(empty.line() == 2);
	CHECK(empty.column() == 19);
	CHECK_THAT(empty.what(), ContainsSubstring("list at least one number of retrieves"));

	auto order = error_of("{\"objects\": {\"m\": \"memfd\"},\n \"finish\": {\"at\": [2, 4, 3]}}");
	CHECK(std::string(order.what()) ==
	      "scenarios/x.json:2:26: at /finish/at/2: 3 comes after 4; list each number of retrieves once, "
	      "in increasing order");

	auto twice = error_of(R"({"objects": {"m": "memfd"}, "finish": [1, 1]})");
	CHECK(twice.pointer() == "/finish/1");

	auto kind = error_of("{\"objects\": {\"m\": \"memfd\"},\n \"finish\": {\"at\": [1, \"end\"]}}");
	CHECK(kind.pointer() == "/finish/at/1");
	CHECK(kind.column() == 23);
	CHECK_THAT(kind.what(), ContainsSubstring("expected a number of retrieves (0 = before any), got \"end\""));

	auto negative = error_of(R"({"objects": {"m": "memfd"}, "finish": {"at": [-1]}})");
	CHECK(negative.pointer() == "/finish/at/0");
}

TEST_CASE("position map: pointers are RFC 6901 escaped, fallback to ancestors", "[scenario]")
{
	PosMap m = scan_positions("{\n \"a/b\": [1,\n  {\"c~\": true}]}");
	CHECK(m.value("/a~1b").line == 2);
	CHECK(m.value("/a~1b").column == 9);
	CHECK(m.value("/a~1b/1/c~0").line == 3);
	CHECK(m.value("/a~1b/1/c~0").column == 10);
	CHECK(m.key("/a~1b/1/c~0").column == 4);
	CHECK(m.value("/a~1b/7/zz").column == 9);  // nearest recorded ancestor
	CHECK(pointer_at("{\"a\": [1, {\"b\": ", 15) == "/a/1/b");
}

TEST_CASE("load_scenario reports a missing file", "[scenario]")
{
	CHECK_THROWS_AS(load_scenario("/nonexistent/x.json"), ScenarioError);
}

TEST_CASE("an iommufd's IOAS: a count of 1 to 4, on an iommufd only, over a small memfd", "[scenario]")
{
	auto sc = parse_scenario(R"({"objects": {"m": "memfd", "i": {"kind": "iommufd", "depends_on": "m", "ioas": 3}}})",
				 "t.json");
	CHECK(sc.object("i")->ioas == 3);
	CHECK(sc.object("m")->ioas == 1);

	auto kind = error_of(R"({"objects": {"m": {"kind": "memfd", "ioas": 2}}})");
	CHECK(kind.pointer() == "/objects/m/ioas");
	CHECK_THAT(kind.what(), ContainsSubstring("only iommufd objects have IOAS"));

	for (const char *n : {"0", "5"}) {
		auto range = error_of(std::string(R"({"objects": {"i": {"kind": "iommufd", "ioas": )") + n + "}}}");
		CHECK(range.pointer() == "/objects/i/ioas");
		CHECK_THAT(range.what(), ContainsSubstring("1 to 4 IOAS"));
	}

	auto big = error_of(R"({"objects": {"m": {"kind": "memfd", "size": 16777216},
	  "i": {"kind": "iommufd", "depends_on": "m", "ioas": 2}}})");
	CHECK(big.pointer() == "/objects/i/ioas");
	CHECK_THAT(big.what(), ContainsSubstring("at most 8388608 bytes; 'm' has 16777216"));
}

TEST_CASE("an iommufd maps a list of memfds, each a small memfd named once", "[scenario]")
{
	auto sc = parse_scenario(R"({"objects": {"a": "memfd", "b": "memfd",
	  "i": {"kind": "iommufd", "depends_on": ["a", "b"], "ioas": 2}}})", "t.json");
	CHECK(sc.object("i")->depends_on == "a");
	CHECK(sc.object("i")->also_maps == std::vector<std::string>{"b"});
	auto one = parse_scenario(R"({"objects": {"a": "memfd", "i": {"kind": "iommufd", "depends_on": ["a"]}}})",
				  "t.json");
	CHECK(one.object("i")->depends_on == "a");
	CHECK(one.object("i")->also_maps.empty());

	auto three = error_of(R"({"objects": {"a": "memfd", "b": "memfd", "c": "memfd",
	  "i": {"kind": "iommufd", "depends_on": ["a", "b", "c"]}}})");
	CHECK(three.pointer() == "/objects/i/depends_on");
	CHECK_THAT(three.what(), ContainsSubstring("maps 1 to 2 memfds"));

	auto twice = error_of(R"({"objects": {"a": "memfd", "i": {"kind": "iommufd", "depends_on": ["a", "a"]}}})");
	CHECK(twice.pointer() == "/objects/i/depends_on/1");
	CHECK_THAT(twice.what(), ContainsSubstring("named twice"));

	auto vm = error_of(R"({"objects": {"a": "memfd", "v": "kvm-vm",
	  "i": {"kind": "iommufd", "depends_on": ["a", "v"]}}})");
	CHECK(vm.pointer() == "/objects/i/depends_on/1");
	CHECK_THAT(vm.what(), ContainsSubstring("'v' is not a memfd object; memfd objects are: a"));

	auto big = error_of(R"({"objects": {"a": {"kind": "memfd", "size": 16777216}, "b": "memfd",
	  "i": {"kind": "iommufd", "depends_on": ["a", "b"]}}})");
	CHECK(big.pointer() == "/objects/i/depends_on/1");
	CHECK_THAT(big.what(), ContainsSubstring("each of at most 8388608 bytes; 'a' has 16777216"));

	// Only an iommufd has several dependencies.
	auto gmem = error_of(R"({"objects": {"v": "kvm-vm", "g": {"kind": "guest-memfd", "depends_on": ["v"]}}})");
	CHECK(gmem.pointer() == "/objects/g/depends_on");
	CHECK_THAT(gmem.what(), ContainsSubstring("an object name"));
}
