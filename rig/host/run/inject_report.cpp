// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/inject_report.hpp"

#include <algorithm>
#include <sstream>

#include "protocol/plan.hpp"

namespace luo::host {

std::map<std::string, InjectTotals> inject_totals(const std::vector<CaseResult> &cases)
{
	std::map<std::string, InjectTotals> out;
	for (const auto &c : cases)
		for (const auto &s : c.steps) {
			// The other ops never carry a count, and listing them
			// at 0 would read as "tried, found none".
			if (!s.executed || !protocol::fail_nth_arms(s.op))
				continue;
			auto &t = out[protocol::to_string(s.op)];
			t.steps++;
			t.paths += s.injected;
			t.most = std::max(t.most, s.injected);
			t.absorbed += s.absorbed;
			t.untouched += s.injected == 0 && !s.absorbed ? 1 : 0;
		}
	return out;
}

std::string nothing_injected(const std::vector<CaseResult> &cases)
{
	int steps = 0;
	for (const auto &[op, t] : inject_totals(cases)) {
		if (t.paths || t.absorbed)
			return "";
		steps += t.steps;
	}
	if (!steps)
		return "";
	return "--inject fail-nth armed " + std::to_string(steps) +
	       " steps, and not one call reached an injection point: the kernel's fault "
	       "injection did nothing, so no error path was tried.  Check that the kernel has "
	       "CONFIG_FAILSLAB and CONFIG_FAIL_PAGE_ALLOC (--kernel-flavour debug builds them) "
	       "and that the console shows the guest's fail-nth setup";
}

std::string inject_summary(const std::vector<CaseResult> &cases)
{
	auto totals = inject_totals(cases);
	long all = 0;
	for (const auto &[op, t] : totals)
		all += t.paths;
	if (!all)
		return "";
	std::ostringstream o;
	o << "fail-nth: " << all << " error paths reached;";
	const char *sep = " ";
	for (const auto &[op, t] : totals) {
		o << sep << op << " " << t.paths << " in " << t.steps << " steps (at most " << t.most
		  << " in one";
		if (t.absorbed)
			o << "; " << t.absorbed << " more that the call got over";
		if (t.untouched)
			o << "; " << t.untouched << " steps reached none";
		o << ")";
		sep = "; ";
	}
	return o.str();
}

} // namespace luo::host
