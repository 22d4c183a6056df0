// SPDX-License-Identifier: GPL-2.0-only
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>

#include "host/run/report.hpp"
#include "host/run/run.hpp"

using namespace luo::host;
using Catch::Matchers::ContainsSubstring;

namespace {

std::vector<CaseResult> two_cases()
{
	CaseResult ok;
	ok.id = "kvm-gmem/p:vm,gmem/r:gmem,vm";
	ok.scenario = "kvm-gmem";
	ok.verdict = Verdict::pass;
	StepResult s;
	s.op = luo::protocol::Op::finish;
	s.session = "s";
	s.executed = true;
	s.matches = true;
	ok.steps.push_back(s);

	CaseResult bad;
	bad.id = "kvm-gmem/p:gmem,vm/r:gmem";
	bad.scenario = "kvm-gmem";
	bad.verdict = Verdict::violation;
	bad.message = "step 9 finish in s: expected EBUSY [C4], observed ok";
	bad.diagnostic = "detail <line>\n";
	bad.failed_step = 8;
	bad.vm_dir = "/runs/vm-1";
	return {ok, bad};
}

RunSummary summary()
{
	RunSummary s;
	s.kernel_release = "7.3.4";
	s.accel = "tcg";
	s.contract = "agreed";
	s.wall_seconds = 12.5;
	s.vms = 1;
	return s;
}

} // namespace

TEST_CASE("KTAP has a plan line, one result per case and diagnostics", "[unit][report]")
{
	auto k = ktap_report(two_cases(), summary());
	CHECK_THAT(k, ContainsSubstring("KTAP version 1\n"));
	CHECK_THAT(k, ContainsSubstring("\n1..2\n"));
	CHECK_THAT(k, ContainsSubstring("ok 1 kvm-gmem/p:vm,gmem/r:gmem,vm\n"));
	CHECK_THAT(k, ContainsSubstring("not ok 2 kvm-gmem/p:gmem,vm/r:gmem # contract-violation\n"));
	CHECK_THAT(k, ContainsSubstring("# kvm-gmem/p:gmem,vm/r:gmem: contract-violation: step 9"));
	CHECK_THAT(k, ContainsSubstring("# Totals: pass:1 fail:1"));
}

TEST_CASE("JSON has a summary with counts and cases with steps", "[unit][report]")
{
	auto j = nlohmann::json::parse(json_report(two_cases(), summary()));
	CHECK(j["summary"]["total"] == 2);
	CHECK(j["summary"]["counts"]["pass"] == 1);
	CHECK(j["summary"]["counts"]["contract-violation"] == 1);
	CHECK(j["summary"]["kernel_version"] == "7.3.4");
	CHECK(j["summary"]["accel"] == "tcg");
	CHECK(j["summary"]["wall_seconds"] == 12.5);
	CHECK(j["cases"][1]["verdict"] == "contract-violation");
	CHECK(j["cases"][1]["failed_step"] == 9);
	CHECK(j["cases"][0]["steps"][0]["op"] == "finish");
}

TEST_CASE("the kernel's time is reported apart from the cases' time", "[unit][report]")
{
	auto s = summary();
	s.kernel_seconds = 412.4;
	s.cases_seconds = 263.2;
	s.wall_seconds = 676.0;
	auto j = nlohmann::json::parse(json_report(two_cases(), s));
	CHECK(j["summary"]["kernel"]["seconds"] == 412.4);
	CHECK(j["summary"]["kernel"]["from_cache"] == false);
	CHECK(j["summary"]["cases_seconds"] == 263.2);
	CHECK(j["summary"]["wall_seconds"] == 676.0);
	CHECK_THAT(summary_table(two_cases(), s),
		   ContainsSubstring("676.0 s wall (kernel: 412 s (built), cases: 263.2 s)"));
	s.kernel_from_cache = true;
	s.kernel_seconds = 0.2;
	CHECK_THAT(summary_table(two_cases(), s), ContainsSubstring("(kernel: cached, cases: 263.2 s)"));
	// --kernel IMAGE: nothing was built, so no time is said to be spent on it.
	s.kernel_from_cache = false;
	s.kernel_prebuilt = true;
	CHECK(nlohmann::json::parse(json_report(two_cases(), s))["summary"]["kernel"]["prebuilt"] == true);
	CHECK_THAT(summary_table(two_cases(), s), ContainsSubstring("(kernel: prebuilt, cases: 263.2 s)"));
}

TEST_CASE("JUnit escapes XML and counts failures", "[unit][report]")
{
	auto x = junit_report(two_cases(), summary());
	CHECK_THAT(x, ContainsSubstring("tests=\"2\" failures=\"1\" errors=\"0\""));
	CHECK_THAT(x, ContainsSubstring("detail &lt;line&gt;"));
	CHECK_THAT(x, ContainsSubstring("<failure type=\"contract-violation\""));
	CHECK(xml_escape("a&\"b'") == "a&amp;&quot;b&apos;");
}

TEST_CASE("the summary table has a row per scenario and a total", "[unit][report]")
{
	auto t = summary_table(two_cases(), summary());
	CHECK_THAT(t, ContainsSubstring("kvm-gmem"));
	CHECK_THAT(t, ContainsSubstring("total"));
}

TEST_CASE("exit codes follow kselftest", "[unit][report]")
{
	auto cases = two_cases();
	CHECK(exit_code_for(cases) == 1);
	cases.pop_back();
	CHECK(exit_code_for(cases) == 0);
	cases[0].verdict = Verdict::infra;
	CHECK(exit_code_for(cases) == 3);
	CHECK(exit_code_for({}) == 4);
}
