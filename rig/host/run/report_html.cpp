// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/report_html.hpp"
#include "host/run/report.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace luo::host {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Verdict order of the summary line, and the short mark a matrix cell shows;
// colour carries the verdict, the letter keeps it readable without colour.
struct VerdictStyle {
	const char *name, *mark;
};
const VerdictStyle kVerdicts[] = {
	{"pass", "&#10003;"}, {"contract-violation", "V"}, {"crash", "C"}, {"hang", "H"},
	{"flaky", "F"},       {"infra", "I"},              {"setup", "S"}, {"incomplete", "?"},
	{"fail", "X"},        {"skip", "-"},
};

const char *mark_of(const std::string &verdict)
{
	for (const auto &v : kVerdicts)
		if (verdict == v.name)
			return v.mark;
	return "?";
}

// Any scalar as text: the summary may come from an older or merged file
// where a field is missing or of another type.
std::string text_of(const json &j, const char *key)
{
	if (!j.is_object() || !j.contains(key) || j[key].is_null())
		return "";
	const json &v = j[key];
	if (v.is_string())
		return v.get<std::string>();
	if (v.is_boolean())
		return v.get<bool>() ? "yes" : "no";
	if (v.is_number_float()) {
		char b[32];
		std::snprintf(b, sizeof(b), "%.1f", v.get<double>());
		return b;
	}
	return v.dump();
}

// Verdict class names double as CSS classes: keep them to [a-z-].
std::string css_token(const std::string &s)
{
	std::string o;
	for (char c : s)
		o += (c >= 'a' && c <= 'z') || c == '-' ? c : '_';
	return o;
}

struct Order {
	std::string preserve, restore;
	bool ok = false;
};

// "<scenario>/p:<order>/r:<order>"; anything else is listed plainly.
Order split_id(const std::string &id)
{
	Order o;
	size_t a = id.find('/');
	if (a == std::string::npos)
		return o;
	size_t b = id.find('/', a + 1);
	if (b == std::string::npos || id.find('/', b + 1) != std::string::npos)
		return o;
	std::string p = id.substr(a + 1, b - a - 1), r = id.substr(b + 1);
	if (p.rfind("p:", 0) != 0 || r.rfind("r:", 0) != 0)
		return o;
	o.preserve = p.substr(2);
	o.restore = r.substr(2);
	o.ok = true;
	return o;
}

bool is_failure(const std::string &verdict)
{
	return verdict != "pass" && verdict != "skip";
}

std::string console_tail(const std::string &vm_dir, int lines,
			 std::map<std::string, std::string> &cache)
{
	if (vm_dir.empty() || lines <= 0)
		return "";
	auto it = cache.find(vm_dir);
	if (it != cache.end())
		return it->second;
	std::string out;
	std::ifstream in(fs::path(vm_dir) / "console.log", std::ios::binary);
	if (in) {
		std::deque<std::string> tail;
		std::string l;
		while (std::getline(in, l)) {
			if (!l.empty() && l.back() == '\r')
				l.pop_back();
			// A runaway line must not make the page huge.
			if (l.size() > 400)
				l = l.substr(0, 400) + " ...";
			tail.push_back(std::move(l));
			if ((int)tail.size() > lines)
				tail.pop_front();
		}
		for (auto &t : tail)
			out += t + "\n";
	}
	cache[vm_dir] = out;
	return out;
}

const char *kStyle = R"CSS(
:root{font-family:system-ui,sans-serif;font-size:14px;color:#222;background:#fafafa}
body{margin:1em 2em}
h1{font-size:1.4em;margin:.2em 0}
h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:1px solid #ccc}
table{border-collapse:collapse}
.summary td,.summary th{text-align:left;padding:1px 10px 1px 0;vertical-align:top}
.summary th{font-weight:600;color:#555}
.counts{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px}
.counts li{padding:3px 8px;border-radius:3px;cursor:pointer;user-select:none}
.counts li.zero{opacity:.35}
.counts li.active{outline:2px solid #000}
.matrix th,.matrix td{border:1px solid #ddd;padding:0}
.matrix thead th{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;
 font-family:monospace;padding:4px 1px;white-space:nowrap}
.matrix tbody th{font-weight:normal;font-family:monospace;text-align:right;padding:0 6px;
 white-space:nowrap}
.matrix td.cell a{display:block;min-width:1.6em;height:1.6em;line-height:1.6em;
 text-align:center;text-decoration:none;color:inherit;font-weight:600}
.matrix td.empty{background:#fff}
.plain li.cell{margin:2px 0;padding:1px 6px;display:table;border-radius:3px}
.plain li.cell a{color:inherit;font-family:monospace}
.dim{opacity:.15}
.v-pass{background:#c8e6c9;color:#1b5e20}
.v-contract-violation{background:#ef9a9a;color:#7f0000}
.v-crash{background:#6a1b9a;color:#fff}
.v-hang{background:#ffb74d;color:#4e2600}
.v-flaky{background:#fff176;color:#5d4b00}
.v-infra{background:#90a4ae;color:#102027}
.v-setup{background:#bdbdbd;color:#212121}
.v-incomplete{background:#e0e0e0;color:#424242}
.v-fail{background:#e57373;color:#4a0000}
.v-skip{background:#e3f2fd;color:#0d47a1}
.cell.new{outline:3px solid #000;outline-offset:-3px}
details.case{margin:4px 0;border:1px solid #ddd;background:#fff}
details.case>summary{padding:3px 6px;cursor:pointer;font-family:monospace}
details.case.v-pass:not([open]):not(:target){display:none}
details.case:target,details.case.flash{box-shadow:0 0 0 3px #1565c0}
details.case .badge{padding:0 5px;border-radius:3px}
details.case>div{padding:4px 10px;background:#fff;color:#222}
.steps td,.steps th{border:1px solid #e0e0e0;padding:1px 6px;font-family:monospace;
 text-align:left;vertical-align:top}
.steps tr.bad td{background:#ffebee}
.steps tr.failed td{background:#ef9a9a;font-weight:600}
.steps tr.teardown td.op{font-style:italic}
pre{background:#263238;color:#eceff1;padding:6px;overflow-x:auto;max-height:30em;
 white-space:pre-wrap}
.baseline li{font-family:monospace}
.note{color:#666}
)CSS";

// Cells link to their case's <details>; the script only opens and flashes
// it, so the page still works (by anchor) with scripts off.
const char *kScript = R"JS(
(function(){
 function openCase(hash){
  if(!hash||hash.length<2)return;
  var d=document.getElementById(hash.slice(1));
  if(!d||d.tagName!=='DETAILS')return;
  d.open=true;
  d.classList.add('flash');
  setTimeout(function(){d.classList.remove('flash');},1500);
  d.scrollIntoView({block:'nearest'});
 }
 document.addEventListener('click',function(e){
  var a=e.target.closest('.cell a');
  if(a){openCase(a.getAttribute('href'));}
  var f=e.target.closest('.counts li');
  if(f){
   var v=f.getAttribute('data-verdict'),on=!f.classList.contains('active');
   document.querySelectorAll('.counts li').forEach(function(x){x.classList.remove('active');});
   if(on)f.classList.add('active');
   document.querySelectorAll('.cell').forEach(function(c){
    c.classList.toggle('dim',on&&c.getAttribute('data-verdict')!==v);
   });
  }
 });
 window.addEventListener('hashchange',function(){openCase(location.hash);});
 openCase(location.hash);
 document.documentElement.setAttribute('data-js','ready');
})();
)JS";

// What a results.json holds under key, or an empty one of the same kind.
const json &member(const json &j, const char *key, bool array)
{
	static const json none = json::object(), empty_list = json::array();
	if (j.is_object() && j.contains(key) && (array ? j[key].is_array() : j[key].is_object()))
		return j[key];
	return array ? empty_list : none;
}

class Page {
public:
	Page(const json &results, const HtmlOptions &opt)
		: opt_(opt), cases_(member(results, "cases", true)),
		  summary_(member(results, "summary", false)),
		  baseline_(member(results, "baseline", false)),
		  has_baseline_(results.is_object() && results.contains("baseline") &&
				results["baseline"].is_object())
	{
	}

	std::string render()
	{
		index_baseline();
		int failed = 0;
		for (const auto &c : cases_)
			failed += is_failure(text_of(c, "verdict"));
		o_ << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		   << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		   << "<title>luo-rig: " << cases_.size() << " cases, " << failed
		   << " not passed</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
		summary(summary_, cases_);
		baseline();
		scenarios(cases_);
		o_ << "<script>" << kScript << "</script>\n</body>\n</html>\n";
		return o_.str();
	}

private:
	void row(const char *label, const std::string &value)
	{
		if (value.empty())
			return;
		o_ << "<tr><th>" << label << "</th><td>" << html_escape(value) << "</td></tr>\n";
	}

	void summary(const json &s, const json &cases)
	{
		o_ << "<header>\n<h1>luo-rig report</h1>\n<table class=\"summary\">\n";
		const json &k = member(s, "kernel", false);
		std::string kernel = text_of(k, "release");
		if (kernel.empty())
			kernel = text_of(s, "kernel_version");
		std::string src = text_of(k, "source");
		if (!src.empty() && src != kernel)
			kernel += " (" + src + ")";
		if (text_of(k, "from_cache") == "yes")
			kernel += ", from the cache";
		row("kernel", kernel);
		row("kernel key", text_of(k, "key"));
		row("flavour", text_of(k, "flavour"));
		std::string accel = text_of(s, "accel");
		std::string why = text_of(s, "accel_reason");
		row("accel", why.empty() || why == accel ? accel : accel + " (" + why + ")");
		row("QEMU", text_of(s, "qemu_version"));
		row("contract", text_of(s, "contract"));
		std::string fault = text_of(s, "fault");
		row("fault knobs", fault.empty() ? "none" : fault);
		std::string wall = text_of(s, "wall_seconds");
		row("wall time", wall.empty() ? "" : wall + " s");
		std::string vms = text_of(s, "vms"), boots = text_of(s, "boots");
		if (!vms.empty())
			row("VMs", vms + " (" + (boots.empty() ? "?" : boots) + " kernel boots)");
		if (s.contains("hosts") && s["hosts"].is_object() && !s["hosts"].empty()) {
			std::string where;
			for (const auto &[h, n] : s["hosts"].items())
				where += (where.empty() ? "" : "; ") + h + ": " + n.dump() + " VM(s)";
			row("hosts", where);
		}
		std::string retried = text_of(s, "infra_retried");
		if (!retried.empty() && retried != "0")
			row("rerun after infra failure", retried + " case(s)");
		if (text_of(s, "allow_flaky") == "yes")
			row("flaky", "allowed (--allow-flaky)");
		if (s.contains("merged_from") && s["merged_from"].is_array()) {
			std::string from;
			for (const auto &f : s["merged_from"])
				from += (from.empty() ? "" : ", ") + (f.is_string() ? f.get<std::string>() : f.dump());
			row("merged from", from);
		}
		row("run directory", text_of(s, "run_dir"));
		if (s.contains("hints") && s["hints"].is_array())
			for (const auto &h : s["hints"])
				if (h.is_string())
					row("hint", h.get<std::string>());
		o_ << "</table>\n";

		// Counted here rather than trusted from summary.counts, so the
		// header always agrees with the cells below it.
		std::map<std::string, int> n;
		for (const auto &c : cases)
			n[text_of(c, "verdict")]++;
		o_ << "<ul class=\"counts\" title=\"click to highlight one verdict\">\n";
		o_ << "<li class=\"total\" data-verdict=\"*\" data-count=\"" << cases.size()
		   << "\">total " << cases.size() << "</li>\n";
		std::set<std::string> shown;
		for (const auto &v : kVerdicts) {
			shown.insert(v.name);
			int k = n.count(v.name) ? n[v.name] : 0;
			o_ << "<li class=\"v-" << v.name << (k ? "" : " zero") << "\" data-verdict=\""
			   << v.name << "\" data-count=\"" << k << "\">" << v.name << " " << k << "</li>\n";
		}
		for (const auto &[v, k] : n)
			if (!shown.count(v))
				o_ << "<li class=\"v-" << css_token(v) << "\" data-verdict=\""
				   << html_escape(v) << "\" data-count=\"" << k << "\">" << html_escape(v)
				   << " " << k << "</li>\n";
		o_ << "</ul>\n</header>\n";
	}

	void index_baseline()
	{
		for (const auto &f : member(baseline_, "new_failures", true))
			new_.insert(text_of(f, "case"));
	}

	void baseline_list(const json &b, const char *key, const char *title)
	{
		if (!b.contains(key) || !b[key].is_array())
			return;
		const json &l = b[key];
		o_ << "<h3>" << title << " (" << l.size() << ")</h3>\n";
		if (l.empty())
			return;
		o_ << "<ul class=\"baseline " << key << "\">\n";
		for (const auto &f : l) {
			std::string id = text_of(f, "case");
			o_ << "<li>";
			auto it = anchor_.find(id);
			if (it != anchor_.end())
				o_ << "<a href=\"#" << it->second << "\">" << html_escape(id) << "</a>";
			else
				o_ << html_escape(id);
			std::string v = text_of(f, "verdict"), was = text_of(f, "was"),
				    reason = text_of(f, "reason");
			if (!v.empty())
				o_ << " " << html_escape(v);
			if (!was.empty())
				o_ << " (was " << html_escape(was) << ")";
			if (!reason.empty())
				o_ << " <span class=\"note\">" << html_escape(reason) << "</span>";
			o_ << "</li>\n";
		}
		o_ << "</ul>\n";
	}

	void baseline()
	{
		if (!has_baseline_)
			return;
		const json &b = baseline_;
		// Anchors are assigned in case order, before the scenarios render.
		for (size_t i = 0; i < cases_.size(); i++)
			anchor_.emplace(text_of(cases_[i], "id"), "c" + std::to_string(i + 1));
		o_ << "<section class=\"baseline\">\n<h2>Against the baseline "
		   << html_escape(text_of(b, "file")) << "</h2>\n";
		baseline_list(b, "new_failures", "new failures");
		baseline_list(b, "fixed", "fixed");
		baseline_list(b, "still_failing", "still failing");
		o_ << "</section>\n";
	}

	void cell(const char *tag, const json &c, size_t index, bool plain)
	{
		std::string id = text_of(c, "id"), v = text_of(c, "verdict");
		std::string title = id + ": " + v;
		std::string msg = text_of(c, "message");
		if (!msg.empty())
			title += ": " + msg;
		o_ << "<" << tag << " class=\"cell v-" << css_token(v) << (new_.count(id) ? " new" : "")
		   << "\" data-case=\"" << html_escape(id) << "\" data-verdict=\"" << html_escape(v)
		   << "\"" << (new_.count(id) ? " data-new=\"true\"" : "") << "><a href=\"#c" << index
		   << "\" title=\"" << html_escape(title) << "\">"
		   << (plain ? html_escape(id) + " &#8212; " + html_escape(v) : mark_of(v)) << "</a></"
		   << tag << ">";
	}

	void steps(const json &c)
	{
		if (!c.contains("steps") || !c["steps"].is_array() || c["steps"].empty())
			return;
		std::string failed = text_of(c, "failed_step");
		o_ << "<table class=\"steps\">\n<tr><th>#</th><th>op</th><th>session</th><th>object</th>"
		      "<th>token</th><th>expected</th><th>observed</th><th>rule</th><th>detail</th></tr>\n";
		for (const auto &st : c["steps"]) {
			std::string idx = text_of(st, "index");
			bool ok = !st.contains("ok") || !st["ok"].is_boolean() || st["ok"].get<bool>();
			bool is_failed = !failed.empty() && idx == failed;
			// What the rig closed after the case's own steps.
			bool teardown = st.contains("teardown") && st["teardown"].is_boolean() &&
					st["teardown"].get<bool>();
			o_ << "<tr class=\"step" << (ok ? "" : " bad") << (is_failed ? " failed" : "")
			   << (teardown ? " teardown" : "") << "\" data-step=\"" << html_escape(idx)
			   << "\">";
			for (const char *f : {"index", "op", "session", "object", "token", "expected",
					      "observed", "rule", "detail"}) {
				std::string text = text_of(st, f);
				if (teardown && std::string(f) == "op")
					text = "teardown: " + text;
				o_ << "<td class=\"" << f << "\">" << html_escape(text) << "</td>";
			}
			o_ << "</tr>\n";
		}
		o_ << "</table>\n";
	}

	// A vm_dir inside the run directory becomes a relative link, so the
	// page and its logs can be moved (or downloaded) together.
	std::string relative_vm_dir(const std::string &vm_dir)
	{
		std::string run = text_of(summary_, "run_dir");
		if (run.empty() || vm_dir.size() <= run.size() + 1 || vm_dir.rfind(run + "/", 0) != 0)
			return "";
		return vm_dir.substr(run.size() + 1);
	}

	void details(const json &c, size_t index)
	{
		std::string id = text_of(c, "id"), v = text_of(c, "verdict");
		std::string msg = text_of(c, "message");
		o_ << "<details class=\"case v-" << css_token(v) << "\" id=\"c" << index
		   << "\" data-details=\"" << html_escape(id) << "\" data-verdict=\"" << html_escape(v)
		   << "\"><summary><span class=\"badge v-" << css_token(v) << "\">" << html_escape(v)
		   << "</span> " << html_escape(id);
		if (!msg.empty())
			o_ << " &#8212; <span class=\"message\">" << html_escape(msg) << "</span>";
		o_ << "</summary>\n<div>\n";
		if (new_.count(id))
			o_ << "<p><strong>new failure</strong> (not failing in the baseline)</p>\n";
		std::string failed = text_of(c, "failed_step");
		if (!failed.empty())
			o_ << "<p>failed at step <span class=\"failed-step\">" << html_escape(failed)
			   << "</span></p>\n";
		steps(c);
		std::string diag = text_of(c, "diagnostic");
		if (!diag.empty())
			o_ << "<p>diagnostic:</p>\n<pre class=\"diagnostic\">" << html_escape(diag)
			   << "</pre>\n";
		if (c.contains("warnings") && c["warnings"].is_array() && !c["warnings"].empty()) {
			o_ << "<p>guest warnings:</p>\n<ul class=\"warnings\">\n";
			for (const auto &w : c["warnings"])
				o_ << "<li>" << html_escape(w.is_string() ? w.get<std::string>() : w.dump())
				   << "</li>\n";
			o_ << "</ul>\n";
		}
		std::string vm = text_of(c, "vm_dir");
		if (!vm.empty()) {
			std::string rel = relative_vm_dir(vm);
			o_ << "<p class=\"note\">logs: ";
			if (!rel.empty())
				o_ << "<a href=\"" << html_escape(rel) << "/console.log\">"
				   << html_escape(rel) << "/console.log</a>";
			else
				o_ << html_escape(vm);
			std::string host = text_of(c, "host");
			if (!host.empty())
				o_ << "; on " << html_escape(host);
			std::string schedule = text_of(c, "schedule");
			if (!schedule.empty())
				o_ << "; sessions served " << html_escape(schedule);
			o_ << "; attempts " << html_escape(text_of(c, "attempts"));
			if (text_of(c, "infra_retried") == "yes")
				o_ << ", rerun after an infra failure";
			o_ << "</p>\n";
			if (is_failure(v)) {
				std::string tail = console_tail(vm, opt_.console_lines, consoles_);
				if (!tail.empty())
					o_ << "<p>console, last lines of its VM:</p>\n<pre class=\"console\">"
					   << html_escape(tail) << "</pre>\n";
			}
		}
		o_ << "</div>\n</details>\n";
	}

	void scenarios(const json &cases)
	{
		// Scenarios, rows and columns in the order the cases come: that is
		// the expansion order, which reads better than a sort.
		std::vector<std::string> names;
		std::map<std::string, std::vector<size_t>> by;
		for (size_t i = 0; i < cases.size(); i++) {
			std::string sc = text_of(cases[i], "scenario");
			if (sc.empty()) {
				std::string id = text_of(cases[i], "id");
				sc = id.substr(0, id.find('/'));
			}
			if (!by.count(sc))
				names.push_back(sc);
			by[sc].push_back(i);
		}
		o_ << "<main>\n";
		for (const auto &name : names)
			scenario(name, cases, by[name]);
		o_ << "</main>\n";
	}

	void scenario(const std::string &name, const json &cases, const std::vector<size_t> &idx)
	{
		std::vector<std::string> rows, cols;
		std::map<std::pair<std::string, std::string>, size_t> grid;
		std::vector<size_t> plain;
		std::map<std::string, int> n;
		for (size_t i : idx) {
			n[text_of(cases[i], "verdict")]++;
			Order ord = split_id(text_of(cases[i], "id"));
			if (!ord.ok || grid.count({ord.preserve, ord.restore})) {
				plain.push_back(i);
				continue;
			}
			if (std::find(rows.begin(), rows.end(), ord.preserve) == rows.end())
				rows.push_back(ord.preserve);
			if (std::find(cols.begin(), cols.end(), ord.restore) == cols.end())
				cols.push_back(ord.restore);
			grid[{ord.preserve, ord.restore}] = i;
		}
		o_ << "<section class=\"scenario\" data-scenario=\"" << html_escape(name) << "\">\n<h2>"
		   << html_escape(name) << " <small class=\"note\">" << idx.size() << " cases";
		for (const auto &v : kVerdicts)
			if (n.count(v.name))
				o_ << ", " << v.name << " " << n[v.name];
		o_ << "</small></h2>\n";
		if (!grid.empty()) {
			o_ << "<table class=\"matrix\">\n<thead><tr><th>preserve \\ restore</th>";
			for (const auto &c : cols)
				o_ << "<th>r:" << html_escape(c) << "</th>";
			o_ << "</tr></thead>\n<tbody>\n";
			for (const auto &r : rows) {
				o_ << "<tr><th>p:" << html_escape(r) << "</th>";
				for (const auto &c : cols) {
					auto it = grid.find({r, c});
					if (it == grid.end())
						o_ << "<td class=\"empty\"></td>";
					else
						cell("td", cases[it->second], it->second + 1, false);
				}
				o_ << "</tr>\n";
			}
			o_ << "</tbody>\n</table>\n";
		}
		if (!plain.empty()) {
			o_ << "<ul class=\"plain\">\n";
			for (size_t i : plain) {
				cell("li", cases[i], i + 1, true);
				o_ << "\n";
			}
			o_ << "</ul>\n";
		}
		o_ << "<div class=\"cases\">\n";
		for (size_t i : idx)
			details(cases[i], i + 1);
		o_ << "</div>\n</section>\n";
	}

	const HtmlOptions &opt_;
	const json &cases_, &summary_, &baseline_;
	const bool has_baseline_;
	std::ostringstream o_;
	std::set<std::string> new_;
	std::map<std::string, std::string> anchor_;
	std::map<std::string, std::string> consoles_;
};

} // namespace

std::string html_escape(const std::string &s)
{
	// XML's escaping is valid HTML5 too (&apos; included); one escaper for
	// every report keeps their treatment of console bytes the same.
	return xml_escape(s);
}

std::string html_report(const json &results, const HtmlOptions &opt)
{
	return Page(results, opt).render();
}

} // namespace luo::host
