// SPDX-License-Identifier: GPL-2.0-only
//
// The cuts `luo-rig minimize` tries: every one is a valid, smaller scenario
// of exactly one case, and dependents never outlive what they depend on.
#include <catch2/catch_test_macros.hpp>
#include <algorithm>

#include "contracts.hpp"
#include "core/contract.hpp"
#include "core/expand.hpp"
#include "core/scenario.hpp"
#include "host/cmd/shrink.hpp"

using namespace luo;
using namespace luo::host;
using json = nlohmann::ordered_json;

namespace {

const char *kAllFour = R"({
  "name": "all-four",
  "needs": {"vfio_devices": 1},
  "objects": {
    "vm": "kvm-vm",
    "gmem": {"kind": "guest-memfd", "depends_on": "vm", "size": 262144},
    "iommu": "iommufd",
    "vfio": "vfio-cdev",
    "data": {"kind": "memfd", "pinned": true}
  },
  "sessions": {"a": ["vm", "gmem", "data"], "b": ["iommu", "vfio"]},
  "preserve": "all",
  "restore": "all",
  "finish": {"at": [1, 2], "on_busy": "leave"},
  "faults": [{"action": "retry-kexec", "withhold": ["gmem"]},
             {"action": "retrieve-unknown", "session": "b"}],
  "expect": [{"step": "kexec", "result": "ENOENT"}]
})";

core::Case one_case(const json &doc)
{
	auto sc = core::parse_scenario(doc.dump(), "t.json");
	auto cases = core::expand(sc, core::Contract::agreed());
	REQUIRE(cases.size() == 1);
	return cases[0];
}

const Shrink *find(const std::vector<Shrink> &v, const std::string &what)
{
	auto it = std::find_if(v.begin(), v.end(), [&](const Shrink &s) { return s.what == what; });
	return it == v.end() ? nullptr : &*it;
}

} // namespace

TEST_CASE("case ids give back their orders", "[unit][shrink]")
{
	auto o = parse_case_id("all-four/p:vfio,iommu,gmem,vm/r:gmem,vm");
	REQUIRE(o);
	CHECK(o->scenario == "all-four");
	CHECK(o->preserve == std::vector<std::string>{"vfio", "iommu", "gmem", "vm"});
	CHECK(o->restore == std::vector<std::string>{"gmem", "vm"});
	auto empty = parse_case_id("kvm-gmem/p:vm,gmem/r:-");
	REQUIRE(empty);
	CHECK(empty->restore.empty());
	CHECK_FALSE(parse_case_id("smoke-memfd"));
}

TEST_CASE("the single-case scenario is the case, and every cut is a valid, smaller story",
	  "[unit][shrink]")
{
	auto id = "all-four/p:vfio,iommu,gmem,vm/r:gmem,vfio,vm";
	json doc = single_case(json::parse(kAllFour), *parse_case_id(id));
	CHECK_FALSE(doc.contains("expect"));
	auto base = one_case(doc);
	CHECK(base.id == id);

	auto cuts = shrink_candidates(doc);
	for (const auto &c : cuts) {
		INFO(c.what);
		// Valid, one case, and strictly less story (not always fewer
		// steps: without a refused kexec the case goes on past it).
		one_case(c.doc);
		CHECK(c.doc.dump().size() < doc.dump().size());
	}

	// Every object can be cut, and the declaration order (the tokens) stays.
	for (auto name : {"vm", "gmem", "iommu", "vfio", "data"}) {
		INFO(name);
		CHECK(std::any_of(cuts.begin(), cuts.end(), [&](const Shrink &c) {
			return c.what.rfind(std::string("drop object ") + name, 0) == 0;
		}));
	}
	CHECK(find(cuts, "drop object data")->doc["objects"].begin().key() == "vm");

	// A dependency goes with its dependents, and the faults that named them.
	const auto *vm = find(cuts, "drop object vm (and gmem)");
	REQUIRE(vm);
	CHECK_FALSE(vm->doc["objects"].contains("gmem"));
	CHECK(vm->doc["restore"][0] == json::array({"vfio"}));
	CHECK(vm->doc["faults"].size() == 1);
	// vfio names no depends_on: it needs the only iommufd all the same.
	const auto *iommu = find(cuts, "drop object iommu (and vfio)");
	REQUIRE(iommu);
	CHECK_FALSE(iommu->doc["sessions"].contains("b"));
	CHECK(iommu->doc["faults"].dump().find("retrieve-unknown") == std::string::npos);
	CHECK(find(cuts, "drop session b and its objects"));
	CHECK(find(cuts, "drop fault retry-kexec"));
	CHECK(find(cuts, "drop the restore of vfio"));
	CHECK(find(cuts, "FINISH at the end only"));
	CHECK(find(cuts, "drop the FINISH after retrieve 1"));
}
