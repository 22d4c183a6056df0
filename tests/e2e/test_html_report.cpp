// SPDX-License-Identifier: GPL-2.0-only
//
// report.html as a browser sees it: a small real run with a fault knob that
// gives contract violations, its page rendered by headless Chromium (scripts
// run), and the rendered DOM checked against results.json.
#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <cstdlib>
#include <regex>

#include <boost/process.hpp>
#include <nlohmann/json.hpp>

#include "e2e_support.hpp"
#include "host/util/atomic_file.hpp"

namespace bp = boost::process;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path find_chromium()
{
	for (const char *name : {"chromium", "chromium-browser"}) {
		auto p = bp::search_path(name);
		if (!p.empty())
			return fs::path(p.string());
	}
	return {};
}

// Chromium sometimes never exits (a GPU process, a crash dialog): give it a
// minute, then kill it rather than hang the suite.
int chromium(const fs::path &exe, const fs::path &profile, std::vector<std::string> args,
	     const fs::path &out, const fs::path &err)
{
	std::vector<std::string> all{"--headless", "--no-sandbox", "--disable-gpu",
				     "--no-first-run", "--disable-background-networking",
				     "--user-data-dir=" + profile.string()};
	all.insert(all.end(), args.begin(), args.end());
	bp::child c(exe.string(), bp::args(all), bp::std_out > out.string(),
		    bp::std_err > err.string(), bp::std_in < bp::null);
	if (!c.wait_for(std::chrono::seconds(60))) {
		c.terminate();
		return -1;
	}
	return c.exit_code();
}

size_t count(const std::string &hay, const std::string &needle)
{
	size_t n = 0;
	for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1))
		n++;
	return n;
}

// How the DOM serializer writes text: only &, < and > escaped.
std::string dom_text(const std::string &s)
{
	std::string o;
	for (char c : s)
		o += c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : std::string(1, c);
	return o;
}

std::string cell_text(const std::string &row, const std::string &cls)
{
	std::smatch m;
	std::regex re("<td class=\"" + cls + "\">([^<]*)</td>");
	return std::regex_search(row, m, re) ? m[1].str() : "(no " + cls + " cell)";
}

} // namespace

TEST_CASE("report.html renders in Chromium with a cell per case and the failing step's details",
	  "[e2e][html]")
{
	fs::path exe = find_chromium();
	if (exe.empty())
		SKIP("chromium is not installed (ci/setup installs Debian's chromium); it renders "
		     "report.html for this test");

	auto cfg = luo::e2e::config_for({"scenarios/deps/kvm-gmem.json"}, "html-report");
	cfg.fault = "finish-ignores-deps";
	// While the kernel series is being edited every change means a kernel
	// build; this lets a developer point the test at an image at hand.
	if (const char *k = std::getenv("LUO_RIG_E2E_KERNEL"))
		cfg.kernel.kernel = fs::path(k);
	auto rep = luo::host::run_suite(cfg);
	fs::path run = rep.summary.run_dir;
	fs::path page = run / "report.html";
	REQUIRE(fs::is_regular_file(page));
	auto results = json::parse(luo::host::read_file(run / "results.json"));
	const auto &cases = results["cases"];
	REQUIRE(cases.size() > 0);

	// The first case that failed at a step; the knob makes some FINISH
	// succeed where C4 demands EBUSY.
	int failing = -1;
	for (size_t i = 0; i < cases.size() && failing < 0; i++)
		if (cases[i]["verdict"] == "contract-violation" && cases[i].contains("failed_step"))
			failing = (int)i;
	REQUIRE(failing >= 0);
	const json &fc = cases[failing];
	std::string anchor = "c" + std::to_string(failing + 1);

	fs::path profile = run / "chromium-profile";
	fs::path dom_file = run / "report.dom.html", log = run / "chromium.log";
	// The fragment names the failing case: the page's script opens it on
	// load, which also proves the script ran.
	std::string url = "file://" + page.string() + "#" + anchor;
	INFO("chromium --dump-dom " << url << " (stderr in " << log << ")");
	REQUIRE(chromium(exe, profile, {"--dump-dom", url}, dom_file, log) == 0);
	std::string dom = luo::host::read_file(dom_file);
	REQUIRE(dom.find("</html>") != std::string::npos);
	CHECK(dom.find("data-js=\"ready\"") != std::string::npos);

	// One cell per case, each with the case's verdict.
	CHECK(count(dom, " data-case=\"") == cases.size());
	for (const auto &c : cases)
		CHECK(dom.find("data-case=\"" + dom_text(c["id"].get<std::string>()) +
			       "\" data-verdict=\"" + c["verdict"].get<std::string>() + "\"") !=
		      std::string::npos);
	// The grid shows exactly as many violations as results.json counts
	// (other elements carry data-verdict too: count cells only).
	size_t violation_cells = 0;
	for (size_t at = dom.find(" data-case=\""); at != std::string::npos;
	     at = dom.find(" data-case=\"", at + 1)) {
		size_t end = dom.find('>', at);
		violation_cells += dom.substr(at, end - at).find("data-verdict=\"contract-violation\"") !=
				   std::string::npos;
	}
	CHECK(violation_cells ==
	      (size_t)results["summary"]["counts"]["contract-violation"].get<int>());

	// The failing case's details: opened by the script, the failed step
	// marked, its expected/observed/rule as results.json has them.
	size_t at = dom.find("id=\"" + anchor + "\"");
	REQUIRE(at != std::string::npos);
	size_t open_end = dom.find('>', at);
	CHECK(dom.substr(at, open_end - at).find(" open=\"\"") != std::string::npos);
	std::string details = dom.substr(at, dom.find("</details>", at) - at);
	CHECK(details.find(dom_text(fc["id"].get<std::string>())) != std::string::npos);
	int k = fc["failed_step"].get<int>();
	const json &step = fc["steps"][k - 1];
	std::string marker = "<tr class=\"step bad failed\" data-step=\"" + std::to_string(k) + "\">";
	size_t row_at = details.find(marker);
	REQUIRE(row_at != std::string::npos);
	std::string row = details.substr(row_at, details.find("</tr>", row_at) - row_at);
	CHECK(cell_text(row, "op") == step["op"].get<std::string>());
	CHECK(cell_text(row, "expected") == dom_text(step["expected"].get<std::string>()));
	CHECK(cell_text(row, "observed") == dom_text(step["observed"].get<std::string>()));
	CHECK(cell_text(row, "rule") == dom_text(step.value("rule", "")));
	CHECK(count(details, "class=\"step bad failed\"") == 1);

	// A picture of the page's top for whoever looks at the run directory.
	fs::path png = run / "report.png";
	CHECK(chromium(exe, profile,
		       {"--screenshot=" + png.string(), "--window-size=1280,1600",
			"file://" + page.string()},
		       run / "chromium-screenshot.out", log) == 0);
	CHECK(fs::is_regular_file(png));
	fs::remove_all(profile);
}
