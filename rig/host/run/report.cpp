// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/report.hpp"

#include <cstdio>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "host/run/inject_report.hpp"
#include "host/run/signature.hpp"

namespace luo::host {

using nlohmann::json;

namespace {

const Verdict kAll[] = {Verdict::pass,  Verdict::violation, Verdict::crash,
			Verdict::hang,  Verdict::flaky,     Verdict::infra,
			Verdict::setup, Verdict::incomplete, Verdict::fail,
			Verdict::skip};

// KTAP's directives where one fits: a hang is a TIMEOUT, a case the rig could
// not run (infra, setup) an ERROR, a skipped selftest a SKIP with its reason;
// the rest are plain failures named by verdict.
std::string ktap_directive(const CaseResult &c)
{
	Verdict v = c.verdict;
	switch (v) {
	case Verdict::skip: return "SKIP " + c.message;
	case Verdict::hang: return "TIMEOUT hang";
	case Verdict::infra:
	case Verdict::setup: return std::string("ERROR ") + to_string(v);
	default: return to_string(v);
	}
}

std::map<Verdict, int> count(const std::vector<CaseResult> &cases)
{
	std::map<Verdict, int> n;
	for (auto v : kAll)
		n[v] = 0;
	for (const auto &c : cases)
		n[c.verdict]++;
	return n;
}

void prefix_lines(std::ostringstream &o, const std::string &text, const char *prefix)
{
	std::istringstream in(text);
	std::string l;
	while (std::getline(in, l))
		o << prefix << l << "\n";
}

} // namespace


std::string ktap_report(const std::vector<CaseResult> &cases, const RunSummary &s)
{
	std::ostringstream o;
	o << "KTAP version 1\n";
	o << "# luo-rig: kernel " << s.kernel_release << " (" << s.kernel_source
	  << (s.kernel_flavour == "default" ? "" : ", " + s.kernel_flavour + " flavour") << "), "
	  << (s.from_kernel.empty() ? "" : "updated from " + s.from_release + " (" + s.from_kernel + "), ")
	  << s.accel << (s.qemu_version.empty() ? "" : ", " + s.qemu_version) << ", contract "
	  << s.contract;
	if (!s.fault.empty())
		o << ", " << s.fault;
	if (!s.inject.empty())
		o << ", --inject " << s.inject;
	o << "\n1.." << cases.size() << "\n";
	int n = 0;
	for (const auto &c : cases) {
		n++;
		if (c.verdict != Verdict::pass && c.verdict != Verdict::skip) {
			o << "# " << c.id << ": " << to_string(c.verdict) << ": " << c.message << "\n";
			prefix_lines(o, c.diagnostic, "#   ");
			for (const auto &w : c.warnings)
				o << "#   " << w << "\n";
			o << "# logs: " << c.vm_dir << "\n";
		}
		bool ok = c.verdict == Verdict::pass || c.verdict == Verdict::skip;
		o << (ok ? "ok " : "not ok ") << n << " " << c.id;
		if (c.verdict != Verdict::pass)
			o << " # " << ktap_directive(c);
		o << "\n";
	}
	auto k = count(cases);
	int errors = k[Verdict::infra] + k[Verdict::setup];
	if (s.infra_retried)
		o << "# " << s.infra_retried << " case(s) ran again after their VM died for infra reasons\n";
	o << "# Totals: pass:" << k[Verdict::pass] << " fail:"
	  << (int)cases.size() - k[Verdict::pass] - k[Verdict::skip] - errors
	  << " xfail:0 xpass:0 skip:" << k[Verdict::skip] << " error:" << errors << "\n";
	return o.str();
}

std::string json_report(const std::vector<CaseResult> &cases, const RunSummary &s)
{
	auto k = count(cases);
	json counts = json::object();
	for (auto v : kAll)
		counts[to_string(v)] = k[v];
	json summary{{"total", cases.size()},
		     {"counts", counts},
		     {"kernel", {{"source", s.kernel_source},
				 {"release", s.kernel_release},
				 {"key", s.kernel_key},
				 {"flavour", s.kernel_flavour},
				 {"from_cache", s.kernel_from_cache},
				 {"prebuilt", s.kernel_prebuilt},
				 {"seconds", s.kernel_seconds}}},
		     {"from_kernel", s.from_kernel.empty() ? json(nullptr)
							   : json{{"image", s.from_kernel},
								  {"release", s.from_release}}},
		     {"kernel_version", s.kernel_release},
		     {"accel", s.accel},
		     {"accel_reason", s.accel_reason},
		     {"qemu_version", s.qemu_version},
		     {"infra_retried", s.infra_retried},
		     {"allow_flaky", s.allow_flaky},
		     {"contract", s.contract},
		     {"fault", s.fault},
		     {"inject", s.inject},
		     {"wall_seconds", s.wall_seconds},
		     {"cases_seconds", s.cases_seconds},
		     {"vms", s.vms},
		     {"boots", s.boots},
		     {"hosts", s.vms_per_host},
		     {"hints", s.hints},
		     {"run_dir", s.run_dir}};
	json jc = json::array();
	for (const auto &c : cases) {
		json steps = json::array();
		for (size_t i = 0; i < c.steps.size(); i++) {
			const auto &st = c.steps[i];
			json js{{"index", i + 1},
				{"op", protocol::to_string(st.op)},
				{"expected", describe_expect(st.expect)},
				{"observed", describe_observed(st)},
				{"ok", st.executed && st.matches}};
			if (!st.session.empty())
				js["session"] = st.session;
			if (!st.object.empty())
				js["object"] = st.object;
			if (protocol::has_token(st.op))
				js["token"] = st.token;
			if (!st.expect.rule.empty())
				js["rule"] = st.expect.rule;
			if (!st.detail.empty())
				js["detail"] = st.detail;
			if (st.teardown)
				js["teardown"] = true;
			if (st.injected)
				js["injected"] = st.injected;
			if (st.absorbed)
				js["absorbed"] = st.absorbed;
			if (st.points)
				js["points"] = st.points;
			if (st.untried)
				js["untried"] = st.untried;
			if (!st.inject_broke.empty())
				js["inject_broke"] = st.inject_broke;
			if (st.raced)
				js["raced"] = st.raced;
			if (st.raced_sessions)
				js["raced_sessions"] = st.raced_sessions;
			if (st.raced_refused)
				js["raced_refused"] = st.raced_refused;
			if (st.raced_carried)
				js["raced_carried"] = st.raced_carried;
			if (st.raced_devices)
				js["raced_devices"] = st.raced_devices;
			if (st.raced_waiting)
				js["raced_waiting"] = st.raced_waiting;
			steps.push_back(std::move(js));
		}
		json one{{"id", c.id},
			 {"scenario", c.scenario},
			 {"verdict", to_string(c.verdict)},
			 {"steps", std::move(steps)},
			 {"vm_dir", c.vm_dir},
			 {"host", c.host},
			 {"schedule", c.schedule},
			 {"attempts", c.attempts},
			 {"infra_retried", c.infra_retried}};
		if (!c.warnings.empty())
			one["warnings"] = c.warnings;
		if (!c.message.empty())
			one["message"] = c.message;
		// What a later run's --baseline compares this failure by.
		if (std::string sig = failure_signature(c); !sig.empty())
			one["signature"] = sig;
		if (c.failed_step >= 0)
			one["failed_step"] = c.failed_step + 1;
		if (!c.diagnostic.empty())
			one["diagnostic"] = c.diagnostic;
		jc.push_back(std::move(one));
	}
	return json{{"summary", summary}, {"cases", jc}}.dump(1);
}

std::string junit_report(const std::vector<CaseResult> &cases, const RunSummary &s)
{
	auto k = count(cases);
	int failures = k[Verdict::violation] + k[Verdict::crash] + k[Verdict::hang] +
		       k[Verdict::fail] + (s.allow_flaky ? 0 : k[Verdict::flaky]);
	int errors = (int)cases.size() - k[Verdict::pass] - k[Verdict::skip] - failures;
	std::ostringstream o;
	o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
	o << "<testsuites>\n<testsuite name=\"luo-rig\" tests=\"" << cases.size()
	  << "\" failures=\"" << failures << "\" errors=\"" << errors << "\" skipped=\""
	  << k[Verdict::skip] << "\" time=\""
	  << s.wall_seconds << "\">\n";
	o << "<properties><property name=\"kernel\" value=\"" << xml_escape(s.kernel_release)
	  << "\"/><property name=\"accel\" value=\"" << xml_escape(s.accel)
	  << "\"/><property name=\"qemu\" value=\"" << xml_escape(s.qemu_version)
	  << "\"/><property name=\"contract\" value=\"" << xml_escape(s.contract)
	  << "\"/></properties>\n";
	for (const auto &c : cases) {
		o << "<testcase classname=\"" << xml_escape(c.scenario) << "\" name=\""
		  << xml_escape(c.id) << "\"";
		if (c.verdict == Verdict::pass) {
			o << "/>\n";
			continue;
		}
		if (c.verdict == Verdict::skip) {
			o << ">\n<skipped message=\"" << xml_escape(c.message) << "\"/>\n</testcase>\n";
			continue;
		}
		bool failure = c.verdict == Verdict::violation || c.verdict == Verdict::crash ||
			       c.verdict == Verdict::hang || c.verdict == Verdict::fail ||
			       (c.verdict == Verdict::flaky && !s.allow_flaky);
		o << ">\n<" << (failure ? "failure" : "error") << " type=\""
		  << to_string(c.verdict) << "\" message=\"" << xml_escape(c.message) << "\">"
		  << xml_escape(c.diagnostic + "logs: " + c.vm_dir) << "</"
		  << (failure ? "failure" : "error") << ">\n</testcase>\n";
	}
	o << "</testsuite>\n</testsuites>\n";
	return o.str();
}

std::string summary_table(const std::vector<CaseResult> &cases, const RunSummary &s)
{
	std::map<std::string, std::map<Verdict, int>> per;
	for (const auto &c : cases)
		per[c.scenario][c.verdict]++;
	std::ostringstream o;
	char line[256];
	std::snprintf(line, sizeof(line), "%-32s %6s %6s %6s %6s %6s %6s %6s\n", "scenario",
		      "cases", "pass", "viol", "crash", "hang", "flaky", "other");
	o << line;
	auto row = [&](const std::string &name, std::map<Verdict, int> &m) {
		int total = 0;
		for (auto &[v, n] : m)
			total += n;
		// A selftest's own failure sits with the violations: both are
		// "the kernel did not do what the test demands".
		int other = m[Verdict::infra] + m[Verdict::setup] + m[Verdict::incomplete] +
			    m[Verdict::skip];
		std::snprintf(line, sizeof(line), "%-32s %6d %6d %6d %6d %6d %6d %6d\n",
			      name.substr(0, 32).c_str(), total, m[Verdict::pass],
			      m[Verdict::violation] + m[Verdict::fail], m[Verdict::crash], m[Verdict::hang],
			      m[Verdict::flaky], other);
		o << line;
	};
	std::map<Verdict, int> all;
	for (auto &[name, m] : per) {
		row(name, m);
		for (auto &[v, n] : m)
			all[v] += n;
	}
	row("total", all);
	// The wall time is split: a kernel built on the way is not the suite's
	// time, and a newcomer's first run must not read as a slow suite.
	char kernel_time[64];
	if (s.kernel_from_cache)
		std::snprintf(kernel_time, sizeof(kernel_time), "cached");
	else if (s.kernel_prebuilt)
		std::snprintf(kernel_time, sizeof(kernel_time), "prebuilt");
	else
		std::snprintf(kernel_time, sizeof(kernel_time), "%.0f s (built)", s.kernel_seconds);
	std::snprintf(line, sizeof(line),
		      "%zu cases in %d VMs (%d kernel boots), %.1f s wall (kernel: %s, cases: %.1f s), "
		      "%s, %s, kernel %s; %d case(s) rerun after an infra failure\n",
		      cases.size(), s.vms, s.boots, s.wall_seconds, kernel_time, s.cases_seconds,
		      s.accel.c_str(), s.qemu_version.c_str(), s.kernel_release.c_str(),
		      s.infra_retried);
	o << line;
	// Only worth a line when the VMs did not all run in one place.
	if (s.vms_per_host.size() > 1) {
		o << "VMs per host:";
		for (const auto &[host, n] : s.vms_per_host)
			o << " " << host << " " << n << ";";
		o << "\n";
	}
	if (s.inject == "race") {
		o << race_summary(cases) << "\n";
	} else if (!s.inject.empty()) {
		std::string reached = inject_summary(cases);
		// Nothing reached under an armed run means the arming did not
		// take: that must not read like a clean run of the error paths.
		o << (reached.empty() ? "fail-nth: no call reached an injection point" : reached)
		  << "\n";
	}
	for (const auto &h : s.hints)
		o << "hint: " << h << "\n";
	return o.str();
}

} // namespace luo::host
