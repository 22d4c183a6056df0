// SPDX-License-Identifier: GPL-2.0-only
//
// report.html from a small hand-made run: its shape, and that nothing a
// kernel or a scenario prints can break out of the page.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>

#include "host/run/report.hpp"
#include "host/run/report_html.hpp"

using namespace luo::host;
using Catch::Matchers::ContainsSubstring;
using nlohmann::json;

namespace {

size_t count(const std::string &hay, const std::string &needle)
{
	size_t n = 0;
	for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1))
		n++;
	return n;
}

CaseResult a_case(std::string id, std::string scenario, Verdict v)
{
	CaseResult c;
	c.id = std::move(id);
	c.scenario = std::move(scenario);
	c.verdict = v;
	c.vm_dir = "/nonexistent/run/vm-1";
	StepResult ok;
	ok.op = luo::protocol::Op::preserve;
	ok.session = "s";
	ok.object = "vm";
	ok.token = 1;
	ok.executed = true;
	ok.matches = true;
	c.steps.push_back(ok);
	if (v == Verdict::violation) {
		StepResult bad;
		bad.op = luo::protocol::Op::finish;
		bad.session = "s";
		bad.expect = {luo::core::Expect::Kind::error, "EBUSY", "C4"};
		bad.executed = true;
		bad.matches = false;
		c.steps.push_back(bad);
		c.failed_step = 1;
		c.message = "step 2 finish in s: expected EBUSY [C4], observed ok";
	}
	return c;
}

RunSummary a_summary()
{
	RunSummary s;
	s.kernel_source = "linux-source-7.3";
	s.kernel_release = "7.3.4-luo";
	s.kernel_key = "0123456789abcdef";
	s.accel = "tcg";
	s.accel_reason = "tcg: no vmx/svm";
	s.qemu_version = "QEMU emulator version 7.2.15";
	s.contract = "agreed";
	s.fault = "luo_fault=finish-ignores-deps";
	s.wall_seconds = 42.5;
	s.vms = 2;
	s.boots = 4;
	s.run_dir = "/nonexistent/run";
	return s;
}

// kvm-gmem: 3 of a 2x2 matrix (one combination missing), and one id that
// is not of the p:/r: shape; memfd: one case of its own.
std::vector<CaseResult> small_run()
{
	return {a_case("kvm-gmem/p:vm,gmem/r:vm,gmem", "kvm-gmem", Verdict::pass),
		a_case("kvm-gmem/p:vm,gmem/r:gmem", "kvm-gmem", Verdict::violation),
		a_case("kvm-gmem/p:gmem,vm/r:vm,gmem", "kvm-gmem", Verdict::pass),
		a_case("kvm-gmem/odd-one", "kvm-gmem", Verdict::crash),
		a_case("memfd/p:mem/r:mem", "memfd", Verdict::hang)};
}

json results_of(const std::vector<CaseResult> &cases)
{
	return json::parse(json_report(cases, a_summary()));
}

} // namespace

TEST_CASE("report.html has a matrix cell per case and a plain entry per odd id",
	  "[unit][report][html]")
{
	auto h = html_report(results_of(small_run()));
	CHECK(count(h, "data-case=\"") == 5);
	CHECK(count(h, "<td class=\"cell ") == 4);
	CHECK(count(h, "<li class=\"cell ") == 1);
	CHECK(count(h, "<td class=\"empty\">") == 1);
	CHECK(count(h, "<section class=\"scenario\"") == 2);
	CHECK_THAT(h, ContainsSubstring("data-case=\"kvm-gmem/p:vm,gmem/r:gmem\" "
					"data-verdict=\"contract-violation\""));
	CHECK_THAT(h, ContainsSubstring("<th>p:gmem,vm</th>"));
	CHECK_THAT(h, ContainsSubstring("<th>r:vm,gmem</th>"));
	// Each case's details, and the failing step marked within them.
	CHECK(count(h, "<details class=\"case ") == 5);
	CHECK_THAT(h, ContainsSubstring("<tr class=\"step bad failed\" data-step=\"2\">"));
	CHECK_THAT(h, ContainsSubstring("<td class=\"expected\">EBUSY [C4]</td>"
					"<td class=\"observed\">ok</td><td class=\"rule\">C4</td>"));
}

TEST_CASE("report.html carries the summary", "[unit][report][html]")
{
	auto h = html_report(results_of(small_run()));
	for (const char *s : {"7.3.4-luo", "0123456789abcdef", "tcg: no vmx/svm",
			      "QEMU emulator version 7.2.15", "agreed", "luo_fault=finish-ignores-deps",
			      "42.5 s", "2 (4 kernel boots)"})
		CHECK_THAT(h, ContainsSubstring(s));
	CHECK_THAT(h, ContainsSubstring("data-verdict=\"pass\" data-count=\"2\""));
	CHECK_THAT(h, ContainsSubstring("data-verdict=\"contract-violation\" data-count=\"1\""));
	CHECK_THAT(h, ContainsSubstring("data-verdict=\"hang\" data-count=\"1\""));
	CHECK_THAT(h, ContainsSubstring("data-verdict=\"flaky\" data-count=\"0\""));

	// The run's hints, one row each, after the run's own facts.
	auto s = a_summary();
	s.hints = {"every PRESERVE_FD of a vfio-cdev (3 in 3 cases) failed with ENOENT"};
	auto hinted = html_report(json::parse(json_report(small_run(), s)));
	CHECK_THAT(hinted, ContainsSubstring("<tr><th>hint</th><td>every PRESERVE_FD of a vfio-cdev"));
	CHECK(count(h, "<th>hint</th>") == 0);
}

TEST_CASE("report.html escapes hostile text and fetches nothing", "[unit][report][html]")
{
	auto cases = small_run();
	cases[1].message = "</script><script>alert(1)</script>";
	cases[1].diagnostic = "<img src=x onerror=alert(2)>\n\x1b[31mred\x1b[0m & 'quotes' \"too\"\n";
	cases[1].warnings = {"</details></section><h1>owned</h1>"};
	cases[3].id = "kvm-gmem/\"><b>bold</b>";
	auto h = html_report(results_of(cases));
	// Only the page's own script element, and none of the injected markup.
	CHECK(count(h, "<script") == 1);
	CHECK(count(h, "</script>") == 1);
	CHECK(h.find("<img") == std::string::npos);
	CHECK(h.find("<h1>owned") == std::string::npos);
	CHECK(h.find("<b>bold") == std::string::npos);
	CHECK(h.find('\x1b') == std::string::npos);
	CHECK_THAT(h, ContainsSubstring("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
	CHECK_THAT(h, ContainsSubstring("&lt;img src=x onerror=alert(2)&gt;"));
	CHECK_THAT(h, ContainsSubstring("&amp; &apos;quotes&apos; &quot;too&quot;"));
	CHECK_THAT(h, ContainsSubstring("data-case=\"kvm-gmem/&quot;&gt;&lt;b&gt;bold&lt;/b&gt;\""));
	// Self-contained: nothing to fetch from anywhere.
	CHECK(h.find("http://") == std::string::npos);
	CHECK(h.find("https://") == std::string::npos);
	CHECK(h.find("<link") == std::string::npos);
	CHECK(h.find("@import") == std::string::npos);
	CHECK(h.find("url(") == std::string::npos);
	CHECK(count(h, "data-case=\"") == 5);
}

TEST_CASE("report.html marks new failures from the baseline section", "[unit][report][html]")
{
	auto j = results_of(small_run());
	j["baseline"] = {{"file", "known.json"},
			 {"kind", "known-failures"},
			 {"new_failures", {{{"case", "memfd/p:mem/r:mem"}, {"verdict", "hang"}}}},
			 {"fixed", json::array()},
			 {"still_failing",
			  {{{"case", "kvm-gmem/p:vm,gmem/r:gmem"}, {"verdict", "contract-violation"},
			    {"reason", "C4 bug <filed>"}}}}};
	auto h = html_report(j);
	CHECK(count(h, "data-new=\"true\"") == 1);
	CHECK_THAT(h, ContainsSubstring("data-case=\"memfd/p:mem/r:mem\" data-verdict=\"hang\" "
					"data-new=\"true\""));
	CHECK_THAT(h, ContainsSubstring("C4 bug &lt;filed&gt;"));
	CHECK_THAT(h, ContainsSubstring("new failures (1)"));
}

TEST_CASE("report.html survives a results.json with fields missing", "[unit][report][html]")
{
	json j{{"cases", {{{"id", "x"}, {"verdict", "pass"}}, {{"id", "y/p:a/r:b"}}}}};
	auto h = html_report(j);
	CHECK(count(h, "data-case=\"") == 2);
	CHECK_THAT(html_report(json::object()), ContainsSubstring("</html>"));
}
