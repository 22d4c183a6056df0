// SPDX-License-Identifier: GPL-2.0-only
//
// luo-rig merge: shards joined into one run's reports, and refused when
// they cannot have been one run.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "host/cmd/merge.hpp"
#include "host/util/atomic_file.hpp"
#include "results_fixtures.hpp"

using namespace luo::host;
using Catch::Matchers::ContainsSubstring;
using nlohmann::json;
namespace fs = std::filesystem;
using luo::test::run_luo_rig;

namespace {

json shard(std::vector<std::pair<std::string, std::string>> cases, double wall, int vms,
	   int boots, const std::string &key = "k1", const std::string &contract = "agreed")
{
	json s{{"total", cases.size()},
	       {"counts", {{"pass", 0}}},
	       {"kernel", {{"source", "linux-source-7.3"},
			   {"release", "7.3.4"},
			   {"key", key},
			   {"flavour", "default"},
			   {"from_cache", true}}},
	       {"kernel_version", "7.3.4"},
	       {"accel", "kvm"},
	       {"accel_reason", "kvm: /dev/kvm usable"},
	       {"qemu_version", "QEMU 7.2"},
	       {"infra_retried", 1},
	       {"allow_flaky", false},
	       {"contract", contract},
	       {"fault", ""},
	       {"wall_seconds", wall},
	       {"vms", vms},
	       {"boots", boots},
	       {"run_dir", "/runs/x"}};
	json jc = json::array();
	for (auto &[id, v] : cases)
		jc.push_back({{"id", id},
			      {"scenario", id.substr(0, id.find('/'))},
			      {"verdict", v},
			      {"steps", json::array()},
			      {"vm_dir", "/runs/x/vm-1"},
			      {"attempts", 1},
			      {"infra_retried", false}});
	return {{"summary", s}, {"cases", jc}};
}

std::string refusal(const std::vector<std::pair<std::string, json>> &in)
{
	return luo::test::setup_error_of([&] { merge_results(in, "/tmp/out"); });
}

} // namespace

TEST_CASE("merge recomputes counts, takes the longest wall time, sums VMs and boots",
	  "[unit][merge]")
{
	auto a = shard({{"s/p:a/r:a", "pass"}, {"s/p:a/r:b", "contract-violation"}}, 30.5, 2, 4);
	auto b = shard({{"s/p:b/r:a", "pass"}, {"s/p:b/r:b", "crash"}, {"t/x", "pass"}}, 41, 3, 6);
	b["summary"]["accel"] = "tcg";
	auto m = merge_results({{"shard1.json", a}, {"shard2.json", b}}, "/tmp/merged");
	const auto &s = m["summary"];
	CHECK(s["total"] == 5);
	CHECK(s["counts"]["pass"] == 3);
	CHECK(s["counts"]["contract-violation"] == 1);
	CHECK(s["counts"]["crash"] == 1);
	CHECK(s["counts"]["hang"] == 0);
	CHECK(s["wall_seconds"] == 41.0);
	CHECK(s["vms"] == 5);
	CHECK(s["boots"] == 10);
	CHECK(s["infra_retried"] == 2);
	CHECK(s["accel"] == "kvm / tcg");
	CHECK(s["kernel"]["key"] == "k1");
	CHECK(s["run_dir"] == "/tmp/merged");
	CHECK(s["merged_from"] == json({"shard1.json", "shard2.json"}));
	REQUIRE(m["cases"].size() == 5);
	CHECK(m["cases"][2]["id"] == "s/p:b/r:a");
	CHECK_FALSE(m.contains("baseline"));
}

TEST_CASE("merge refuses other kernels, other contracts and duplicate cases", "[unit][merge]")
{
	auto a = shard({{"s/p:a/r:a", "pass"}}, 1, 1, 2);
	CHECK_THAT(refusal({{"one.json", a}, {"two.json", shard({{"s/p:b/r:b", "pass"}}, 1, 1, 2, "k2")}}),
		   ContainsSubstring("two.json: kernel key \"k2\" differs from \"k1\" in one.json"));
	CHECK_THAT(refusal({{"one.json", a},
			    {"two.json", shard({{"s/p:b/r:b", "pass"}}, 1, 1, 2, "k1", "strict")}}),
		   ContainsSubstring("two.json: contract \"strict\" differs"));
	CHECK_THAT(refusal({{"one.json", a}, {"again.json", shard({{"s/p:a/r:a", "crash"}}, 1, 1, 2)}}),
		   ContainsSubstring("again.json: case s/p:a/r:a is also in one.json"));
	CHECK_THAT(refusal({{"odd.json", json{{"cases", json::array()}}}}),
		   ContainsSubstring("odd.json: not a luo-rig results.json"));
}

TEST_CASE("merge joins the shards' baseline sections", "[unit][merge]")
{
	auto a = shard({{"s/p:a/r:a", "crash"}}, 1, 1, 2);
	auto b = shard({{"s/p:b/r:b", "pass"}}, 1, 1, 2);
	a["baseline"] = {{"file", "known.json"}, {"kind", "known-failures"},
			 {"new_failures", {{{"case", "s/p:a/r:a"}, {"verdict", "crash"}}}},
			 {"fixed", json::array()}, {"still_failing", json::array()}};
	b["baseline"] = {{"file", "known.json"}, {"kind", "known-failures"},
			 {"new_failures", json::array()},
			 {"fixed", {{{"case", "s/p:b/*"}, {"verdict", "pass"}}}},
			 {"still_failing", json::array()}};
	auto m = merge_results({{"a.json", a}, {"b.json", b}}, "/tmp/m");
	CHECK(m["baseline"]["new_failures"].size() == 1);
	CHECK(m["baseline"]["fixed"].size() == 1);
}

TEST_CASE("merge does not call a glob fixed that another shard still fails", "[unit][merge]")
{
	auto a = shard({{"s/p:a/r:a", "pass"}}, 1, 1, 2);
	auto b = shard({{"s/p:b/r:b", "contract-violation"}}, 1, 1, 2);
	json fixed_glob{{"case", "s/*"}, {"verdict", "pass"}, {"reason", "C4"}};
	a["baseline"] = {{"file", "known.json"}, {"kind", "known-failures"},
			 {"new_failures", json::array()},
			 {"fixed", {fixed_glob}},
			 {"still_failing", json::array()}};
	b["baseline"] = {{"file", "known.json"}, {"kind", "known-failures"},
			 {"new_failures", json::array()},
			 {"fixed", json::array()},
			 {"still_failing",
			  {{{"case", "s/p:b/r:b"}, {"verdict", "contract-violation"}, {"reason", "C4"}}}}};
	auto m = merge_results({{"a.json", a}, {"b.json", b}}, "/tmp/m");
	CHECK(m["baseline"]["fixed"].empty());
	CHECK(m["baseline"]["still_failing"].size() == 1);
	// Both shards fixed it: one entry.
	b = shard({{"s/p:b/r:b", "pass"}}, 1, 1, 2);
	b["baseline"] = a["baseline"];
	m = merge_results({{"a.json", a}, {"b.json", b}}, "/tmp/m");
	CHECK(m["baseline"]["fixed"] == json::array({fixed_glob}));
}

TEST_CASE("merge refuses a case without a verdict", "[unit][merge]")
{
	auto a = shard({{"s/p:a/r:a", "pass"}}, 1, 1, 2);
	a["cases"][0].erase("verdict");
	CHECK_THAT(refusal({{"one.json", a}}),
		   ContainsSubstring("one.json: case s/p:a/r:a has no \"verdict\""));
}

TEST_CASE("luo-rig merge writes the four reports, or exits 2 naming the file", "[unit][merge][cli]")
{
	fs::path dir = fs::temp_directory_path() / ("luo-rig-merge-" + std::to_string(getpid()));
	fs::remove_all(dir);
	fs::create_directories(dir);
	write_file_atomic(dir / "1.json", shard({{"s/p:a/r:a", "pass"}, {"s/p:a/r:b", "hang"}}, 5, 1, 2).dump());
	write_file_atomic(dir / "2.json", shard({{"s/p:b/r:a", "pass"}}, 7, 1, 2).dump());
	write_file_atomic(dir / "3.json", shard({{"s/p:b/r:b", "pass"}}, 7, 1, 2, "other").dump());
	std::string err;
	fs::path out = dir / "merged";
	REQUIRE(run_luo_rig({"merge", out.string(), (dir / "1.json").string(), (dir / "2.json").string()},
			err) == 0);
	auto m = json::parse(read_file(out / "results.json"));
	CHECK(m["summary"]["total"] == 3);
	CHECK(m["summary"]["counts"]["hang"] == 1);
	CHECK_THAT(read_file(out / "results.ktap"), ContainsSubstring("\n1..3\n"));
	CHECK_THAT(read_file(out / "results.ktap"), ContainsSubstring("not ok 2 s/p:a/r:b # TIMEOUT"));
	CHECK_THAT(read_file(out / "results.xml"), ContainsSubstring("tests=\"3\" failures=\"1\""));
	CHECK_THAT(read_file(out / "report.html"), ContainsSubstring("data-case=\"s/p:b/r:a\""));

	err.clear();
	fs::path refused = dir / "refused";
	CHECK(run_luo_rig({"merge", refused.string(), (dir / "1.json").string(), (dir / "3.json").string()},
		      err) == 2);
	CHECK_THAT(err, ContainsSubstring((dir / "3.json").string() + ": kernel key"));
	CHECK_FALSE(fs::exists(refused / "results.json"));

	err.clear();
	std::ofstream(dir / "broken.json") << "{\"summary\": ";
	CHECK(run_luo_rig({"merge", refused.string(), (dir / "broken.json").string()}, err) == 2);
	CHECK_THAT(err, ContainsSubstring((dir / "broken.json").string() + ": not valid JSON"));
	fs::remove_all(dir);
}

TEST_CASE("merge adds up the VMs of each host across shards", "[unit][merge]")
{
	auto a = shard({{"s/a", "pass"}}, 1, 3, 6);
	a["summary"]["hosts"] = {{"h1 (qemu+ssh://h1/system #1)", 2}, {"h2 (qemu+ssh://h2/system #2)", 1}};
	auto b = shard({{"s/b", "pass"}}, 1, 2, 4);
	b["summary"]["hosts"] = {{"h2 (qemu+ssh://h2/system #2)", 2}};
	auto m = merge_results({{"a.json", a}, {"b.json", b}}, "/tmp/merged");
	CHECK(m["summary"]["hosts"] == json({{"h1 (qemu+ssh://h1/system #1)", 2},
					     {"h2 (qemu+ssh://h2/system #2)", 3}}));
}
