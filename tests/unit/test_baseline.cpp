// SPDX-License-Identifier: GPL-2.0-only
//
// --baseline: only new failures fail a run; known ones are reported, fixed
// ones celebrated, and a baseline the rig cannot read stops it before a boot.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>
#include <fstream>

#include "host/run/baseline.hpp"
#include "host/run/signature.hpp"
#include "results_fixtures.hpp"

using namespace luo::host;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

CaseResult result(std::string id, Verdict v)
{
	CaseResult c;
	c.id = std::move(id);
	c.scenario = c.id.substr(0, c.id.find('/'));
	c.verdict = v;
	return c;
}

Baseline known(const std::string &text)
{
	return parse_baseline(text, "known.json");
}

bool has(const std::vector<BaselineEntry> &l, const std::string &id)
{
	for (const auto &e : l)
		if (e.id == id)
			return true;
	return false;
}

std::string setup_error(const std::string &text)
{
	return luo::test::setup_error_of([&] { parse_baseline(text, "/tmp/kf.json"); });
}

} // namespace

TEST_CASE("a known failure keeps the run green", "[unit][baseline]")
{
	auto b = known(R"({"known_failures": [
		{"case": "kvm-gmem/p:gmem,vm/r:gmem", "reason": "C4: can_finish ignores deps"}]})");
	std::vector<CaseResult> now{result("kvm-gmem/p:vm,gmem/r:vm", Verdict::pass),
				    result("kvm-gmem/p:gmem,vm/r:gmem", Verdict::violation)};
	auto d = compare_to_baseline(b, now, false);
	CHECK(d.new_failures.empty());
	CHECK(has(d.still_failing, "kvm-gmem/p:gmem,vm/r:gmem"));
	REQUIRE(d.still_failing.size() == 1);
	CHECK(d.still_failing[0].reason == "C4: can_finish ignores deps");
	CHECK(exit_code_with_baseline(now, d) == kExitPass);
	auto j = d.to_json();
	CHECK(j["kind"] == "known-failures");
	CHECK(j["still_failing"].size() == 1);
}

TEST_CASE("a failure not in the baseline turns the run red", "[unit][baseline]")
{
	auto b = known(R"({"known_failures": [{"case": "kvm-gmem/*", "reason": "known C4 bug"}]})");
	std::vector<CaseResult> now{result("kvm-gmem/p:gmem,vm/r:gmem", Verdict::violation),
				    result("all-four/p:vm,gmem,iommu,vfio/r:vfio", Verdict::crash)};
	auto d = compare_to_baseline(b, now, false);
	REQUIRE(d.new_failures.size() == 1);
	CHECK(d.new_failures[0].id == "all-four/p:vm,gmem,iommu,vfio/r:vfio");
	CHECK(d.new_failures[0].verdict == "crash");
	CHECK(has(d.still_failing, "kvm-gmem/p:gmem,vm/r:gmem"));
	CHECK(exit_code_with_baseline(now, d) == kExitFail);
	CHECK_THAT(d.text(), ContainsSubstring("new: all-four/p:vm,gmem,iommu,vfio/r:vfio crash"));
}

TEST_CASE("a known failure that passes now is reported fixed", "[unit][baseline]")
{
	auto b = known(R"({"known_failures": [
		{"case": "kvm-gmem/p:gmem,vm/r:gmem", "reason": "C4"},
		{"case": "iommufd-vfio/*", "reason": "vfio rebinding"},
		{"case": "all-four/*", "reason": "still broken in places"}]})");
	std::vector<CaseResult> now{result("kvm-gmem/p:gmem,vm/r:gmem", Verdict::pass),
				    result("iommufd-vfio/p:a/r:a", Verdict::pass),
				    result("iommufd-vfio/p:a/r:b", Verdict::pass),
				    result("all-four/p:a/r:a", Verdict::pass),
				    result("all-four/p:a/r:b", Verdict::hang)};
	auto d = compare_to_baseline(b, now, false);
	CHECK(d.new_failures.empty());
	CHECK(has(d.fixed, "kvm-gmem/p:gmem,vm/r:gmem"));
	CHECK(has(d.fixed, "iommufd-vfio/*"));
	// One case of a glob passing is not the glob fixed.
	CHECK_FALSE(has(d.fixed, "all-four/*"));
	CHECK(has(d.still_failing, "all-four/p:a/r:b"));
	CHECK(exit_code_with_baseline(now, d) == kExitPass);
	CHECK_THAT(d.text(), ContainsSubstring("fixed: kvm-gmem/p:gmem,vm/r:gmem"));
}

TEST_CASE("a previous results.json is a baseline too", "[unit][baseline]")
{
	auto b = known(R"({"summary": {}, "cases": [
		{"id": "a/p:x/r:x", "verdict": "contract-violation"},
		{"id": "a/p:x/r:y", "verdict": "crash"},
		{"id": "a/p:y/r:x", "verdict": "pass"}]})");
	CHECK(b.from_results);
	std::vector<CaseResult> now{result("a/p:x/r:x", Verdict::pass),
				    result("a/p:x/r:y", Verdict::violation),
				    result("a/p:y/r:x", Verdict::hang),
				    result("a/p:y/r:y", Verdict::violation)};
	auto d = compare_to_baseline(b, now, false);
	CHECK(has(d.fixed, "a/p:x/r:x"));
	REQUIRE(d.fixed.size() == 1);
	CHECK(d.fixed[0].was == "contract-violation");
	// Crashed before, violates the contract now: another failure, so new.
	CHECK(has(d.new_failures, "a/p:x/r:y"));
	CHECK(has(d.new_failures, "a/p:y/r:x"));   // passed before
	CHECK(has(d.new_failures, "a/p:y/r:y"));   // not in the baseline at all
	CHECK(exit_code_with_baseline(now, d) == kExitFail);
	CHECK(d.to_json()["kind"] == "results");
}

TEST_CASE("a known failure covers that failure, not a worse one", "[unit][baseline]")
{
	auto prev = known(R"({"cases": [{"id": "a/p:x/r:x", "verdict": "contract-violation"},
					 {"id": "a/p:x/r:y", "verdict": "contract-violation"}]})");
	std::vector<CaseResult> now{result("a/p:x/r:x", Verdict::violation),
				    result("a/p:x/r:y", Verdict::crash)};
	auto d = compare_to_baseline(prev, now, false);
	CHECK(has(d.still_failing, "a/p:x/r:x"));
	REQUIRE(d.new_failures.size() == 1);
	CHECK(d.new_failures[0].id == "a/p:x/r:y");
	CHECK(d.new_failures[0].was == "contract-violation");
	CHECK(exit_code_with_baseline(now, d) == kExitFail);

	// A known-failures entry with a verdict accepts only that verdict.
	auto kf = known(R"({"known_failures": [
		{"case": "a/*", "reason": "C4 bug", "verdict": "contract-violation"}]})");
	auto k = compare_to_baseline(kf, now, false);
	CHECK(has(k.still_failing, "a/p:x/r:x"));
	CHECK(has(k.new_failures, "a/p:x/r:y"));
	CHECK(exit_code_with_baseline(now, k) == kExitFail);
	CHECK_THAT(setup_error(R"({"known_failures": [{"case": "a", "reason": "r", "verdict": "pass"}]})"),
		   ContainsSubstring("\"verdict\" must be one of"));
	CHECK_THAT(setup_error(R"({"known_failures": [{"case": "a", "reason": "r", "verdict": "crsh"}]})"),
		   ContainsSubstring("\"verdict\" must be one of"));
}

TEST_CASE("with a baseline, infra and setup keep their own exit codes", "[unit][baseline]")
{
	auto b = known(R"({"known_failures": [{"case": "a/*", "reason": "known"}]})");
	std::vector<CaseResult> now{result("a/p:x/r:x", Verdict::violation),
				    result("b/p:x/r:x", Verdict::infra)};
	auto d = compare_to_baseline(b, now, false);
	CHECK(d.new_failures.empty());
	CHECK(exit_code_with_baseline(now, d) == kExitInfra);
	now.push_back(result("c/p:x/r:x", Verdict::setup));
	CHECK(exit_code_with_baseline(now, compare_to_baseline(b, now, false)) == kExitSetup);
	now.push_back(result("d/p:x/r:x", Verdict::flaky));
	CHECK(exit_code_with_baseline(now, compare_to_baseline(b, now, false)) == kExitFail);
	CHECK(exit_code_with_baseline(now, compare_to_baseline(b, now, true)) == kExitSetup);
	CHECK(exit_code_with_baseline({}, compare_to_baseline(b, {}, false)) == kExitSkip);
}

TEST_CASE("a baseline that is not valid names the file and the problem", "[unit][baseline]")
{
	CHECK_THAT(setup_error("{\"known_failures\": [{\"case\": \"a/*\"}]}"),
		   ContainsSubstring("--baseline /tmp/kf.json: known_failures[0] (a/*) has no "
				     "\"reason\""));
	CHECK_THAT(setup_error("{\"known_failures\": [{\"case\": \"a/*\", \"reason\": \"\"}]}"),
		   ContainsSubstring("has no \"reason\""));
	CHECK_THAT(setup_error("{\"known_failures\": [{\"reason\": \"why\"}]}"),
		   ContainsSubstring("known_failures[0] has no \"case\""));
	CHECK_THAT(setup_error("{\"known_failures\": {}}"),
		   ContainsSubstring("must be a list"));
	CHECK_THAT(setup_error("{\"known_failures\": [,]}"),
		   ContainsSubstring("/tmp/kf.json: not valid JSON"));
	CHECK_THAT(setup_error("[]"), ContainsSubstring("expected a JSON object"));
	CHECK_THAT(setup_error("{\"failures\": []}"),
		   ContainsSubstring("neither a results.json"));
	CHECK_THAT(setup_error("{\"cases\": [{\"id\": \"x\"}]}"),
		   ContainsSubstring("cases[0] has no \"id\" or \"verdict\""));
	CHECK_THROWS_AS(load_baseline("/nonexistent/known.json"), SetupError);
}

TEST_CASE("run --baseline with a bad file exits 2 before anything boots", "[unit][baseline][cli]")
{
	fs::path dir = fs::temp_directory_path() / ("luo-rig-baseline-" + std::to_string(getpid()));
	fs::create_directories(dir);
	fs::path bad = dir / "known.json";
	std::ofstream(bad) << R"({"known_failures": [{"case": "kvm-gmem/*"}]})";
	fs::path out = dir / "run";
	// A kernel that does not exist: had the baseline been checked later,
	// the error would be about the kernel instead.
	std::string all;
	int rc = luo::test::run_luo_rig({"run", "--baseline", bad.string(), "--out", out.string(),
					 "--kernel", (dir / "no-bzImage").string(),
					 std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/smoke"},
					all);
	CHECK(rc == 2);
	CHECK_THAT(all, ContainsSubstring("--baseline " + bad.string() + ": known_failures[0]"));
	CHECK_THAT(all, ContainsSubstring("has no \"reason\""));
	CHECK_FALSE(fs::exists(out));
	fs::remove_all(dir);
}

namespace {

CaseResult failed(std::string id, Verdict v, std::string message)
{
	auto c = result(std::move(id), v);
	c.message = std::move(message);
	return c;
}

const char *kWarnMsg = "kernel WARNING: WARNING: CPU: 0 PID: 1 at kernel/liveupdate/luo_file.c:321 "
		       "liveupdate_get_token_outgoing+0x5a/0x80";
const char *kKasanMsg = "kernel KASAN: BUG: KASAN: slab-use-after-free in luo_file_finish+0x1c/0x90";
const char *kFinish = "step 8 finish in s: expected EBUSY [C4], observed ok";

std::string results_json(const std::vector<CaseResult> &cases, const std::string &summary)
{
	nlohmann::json j{{"summary", nlohmann::json::parse(summary)}, {"cases", nlohmann::json::array()}};
	for (const auto &c : cases)
		j["cases"].push_back({{"id", c.id},
				      {"verdict", to_string(c.verdict)},
				      {"message", c.message},
				      {"signature", failure_signature(c)}});
	return j.dump();
}

const char *kAgreed = R"({"contract": "agreed", "fault": "", "kernel": {"flavour": "default"}})";

} // namespace

TEST_CASE("a results.json baseline matches failures by signature, not by verdict name",
	  "[unit][baseline]")
{
	std::vector<CaseResult> before{failed("a/1", Verdict::violation, kFinish),
				       failed("a/2", Verdict::crash, kWarnMsg),
				       failed("a/3", Verdict::crash, kWarnMsg),
				       failed("a/4", Verdict::violation, kFinish)};
	auto b = known(results_json(before, kAgreed));
	std::vector<CaseResult> now{
		// The same violation, its step renumbered: still the known one.
		failed("a/1", Verdict::violation, "step 9 finish in s: expected EBUSY [C4], observed ok"),
		// The same WARNING at another time and CPU.
		failed("a/2", Verdict::crash,
		       "kernel WARNING: WARNING: CPU: 1 PID: 7 at kernel/liveupdate/luo_file.c:321 "
		       "liveupdate_get_token_outgoing+0x5a/0x80"),
		// Another crash than the known one.
		failed("a/3", Verdict::crash, kKasanMsg),
		// The known violation, now with a KASAN in its VM.
		failed("a/4", Verdict::crash, std::string(kKasanMsg) + "; " + kFinish)};
	auto d = compare_to_baseline(b, now, false);
	CHECK(has(d.still_failing, "a/1"));
	CHECK(has(d.still_failing, "a/2"));
	CHECK(has(d.new_failures, "a/3"));
	CHECK(has(d.new_failures, "a/4"));
	CHECK(exit_code_with_baseline(now, d) == kExitFail);
	CHECK_THAT(d.text(), ContainsSubstring("new: a/3 crash: kernel KASAN") &&
				     ContainsSubstring("(was crash: kernel WARNING"));
	auto j = d.to_json();
	CHECK(j["new_failures"][0]["was_signature"].get<std::string>().find("WARNING") !=
	      std::string::npos);

	// A results.json of a rig that did not record signatures: from the message.
	auto legacy = known(std::string(R"({"summary": {"contract": "agreed"}, "cases": [)") +
			    R"({"id": "a/2", "verdict": "crash", "message": ")" + kWarnMsg + R"("},)" +
			    R"({"id": "a/3", "verdict": "crash", "message": ")" + kWarnMsg + R"("}]})");
	auto l = compare_to_baseline(legacy, now, false);
	CHECK(has(l.still_failing, "a/2"));
	CHECK(has(l.new_failures, "a/3"));
}

TEST_CASE("a known-failures entry may name the signature it accepts", "[unit][baseline]")
{
	auto kf = known(R"({"known_failures": [
		{"case": "a/*", "reason": "the WARNING of bug 12", "signature": "crash: kernel WARNING*luo_file.c:321*"}]})");
	std::vector<CaseResult> now{failed("a/1", Verdict::crash, kWarnMsg),
				    failed("a/2", Verdict::crash, kKasanMsg)};
	auto d = compare_to_baseline(kf, now, false);
	CHECK(has(d.still_failing, "a/1"));
	CHECK(has(d.new_failures, "a/2"));
	CHECK_THAT(setup_error(R"({"known_failures": [{"case": "a", "reason": "r", "signature": ""}]})"),
		   ContainsSubstring("\"signature\" must be a non-empty string"));
}

TEST_CASE("a results.json baseline of another contract, knob set or flavour is refused",
	  "[unit][baseline]")
{
	auto b = known(results_json({}, R"({"contract": "agreed", "fault": "luo_fault=preserve-lookup,drop-contents",
					    "kernel": {"flavour": "debug"}})"));
	CHECK_NOTHROW(check_baseline_fits(b, "agreed", {"drop-contents", "preserve-lookup"}, "debug"));
	auto refusal = [&](const std::string &contract, std::vector<std::string> knobs,
			   const std::string &flavour) {
		return luo::test::setup_error_of(
			[&] { check_baseline_fits(b, contract, knobs, flavour); });
	};
	CHECK_THAT(refusal("strict", {"drop-contents", "preserve-lookup"}, "debug"),
		   ContainsSubstring("--baseline known.json: it was run with contract agreed, this run "
				     "strict") &&
			   ContainsSubstring("same --contract, --fault, --kernel-flavour and --inject"));
	CHECK_THAT(refusal("agreed", {}, "debug"),
		   ContainsSubstring("fault knobs drop-contents,preserve-lookup, this run none"));
	CHECK_THAT(refusal("agreed", {"drop-contents", "preserve-lookup"}, "default"),
		   ContainsSubstring("kernel flavour debug, this run default"));
	// A run whose every call also went through its error paths is another
	// run: its failures are not known in a plain one, nor the reverse.
	CHECK_THAT(luo::test::setup_error_of([&] {
			   check_baseline_fits(b, "agreed", {"drop-contents", "preserve-lookup"},
					       "debug", "fail-nth");
		   }),
		   ContainsSubstring("--inject none, this run fail-nth"));
	// A results.json that does not say what it was run with cannot vouch.
	auto bare = known(R"({"cases": [{"id": "a/1", "verdict": "crash"}]})");
	CHECK_THAT(luo::test::setup_error_of([&] { check_baseline_fits(bare, "agreed", {}, "default"); }),
		   ContainsSubstring("does not say which contract"));
	// A known-failures file is a list of accepted failures, not a run.
	CHECK_NOTHROW(check_baseline_fits(known(R"({"known_failures": []})"), "strict", {"x"}, "debug"));
}

TEST_CASE("an all-skip run exits 4 with a baseline as without", "[unit][baseline]")
{
	auto b = known(R"({"known_failures": [{"case": "a/*", "reason": "known"}]})");
	std::vector<CaseResult> now{result("selftests/liveupdate", Verdict::skip),
				    result("selftests/luo_kexec_simple", Verdict::skip)};
	CHECK(exit_code_with_baseline(now, compare_to_baseline(b, now, false)) == kExitSkip);
	now.push_back(result("a/1", Verdict::violation));
	CHECK(exit_code_with_baseline(now, compare_to_baseline(b, now, false)) == kExitPass);
}

TEST_CASE("run --baseline of another contract or knob set exits 2 before anything boots",
	  "[unit][baseline][cli]")
{
	fs::path dir = fs::temp_directory_path() / ("luo-rig-baseline-fit-" + std::to_string(getpid()));
	fs::create_directories(dir);
	fs::path prev = dir / "results.json";
	std::ofstream(prev) << results_json({failed("smoke/x", Verdict::violation, kFinish)},
					    R"({"contract": "agreed", "fault": "luo_fault=drop-contents",
					        "kernel": {"flavour": "default"}})");
	fs::path out = dir / "run";
	std::string err;
	// No such kernel: a check made later than the inputs' would complain
	// about the kernel instead.
	std::vector<std::string> args{"run", "--baseline", prev.string(), "--out", out.string(),
				      "--kernel", (dir / "no-bzImage").string(),
				      std::string(LUO_RIG_SOURCE_DIR) + "/scenarios/smoke"};
	CHECK(luo::test::run_luo_rig(args, err) == 2);
	CHECK_THAT(err, ContainsSubstring("fault knobs drop-contents, this run none"));
	args.insert(args.end(), {"--contract", "strict", "--fault", "drop-contents"});
	err.clear();
	CHECK(luo::test::run_luo_rig(args, err) == 2);
	CHECK_THAT(err, ContainsSubstring("contract agreed, this run strict"));
	CHECK_FALSE(fs::exists(out));
	fs::remove_all(dir);
}
