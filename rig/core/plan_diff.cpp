// SPDX-License-Identifier: GPL-2.0-only
#include "plan_diff.hpp"

#include <map>

#include "core/plan_render.hpp"

namespace luo::core {

using nlohmann::json;

PlanDiff diff_plans(const std::string &a_name, const std::vector<Case> &a, const std::string &b_name,
		    const std::vector<Case> &b)
{
	PlanDiff d;
	d.a = a_name;
	d.b = b_name;
	std::map<std::string, const Case *> in_b;
	for (const auto &c : b)
		in_b[c.id] = &c;
	for (const auto &ca : a) {
		auto it = in_b.find(ca.id);
		if (it == in_b.end()) {
			d.only_a.push_back(ca.id);
			continue;
		}
		const Case &cb = *it->second;
		in_b.erase(it);
		d.cases++;
		CaseDiff cd{ca.id, {}};
		// Steps compare by position: a refusal can end a case early, and
		// the steps one contract has and the other not differ too.
		// Only outcomes count: the same answer under another rule's name
		// ("ok:C1" and "ok:S1") is no disagreement.
		std::size_t n = std::max(ca.steps.size(), cb.steps.size());
		for (std::size_t i = 0; i < n; i++) {
			const CaseStep *sa = i < ca.steps.size() ? &ca.steps[i] : nullptr;
			const CaseStep *sb = i < cb.steps.size() ? &cb.steps[i] : nullptr;
			const std::string ta = sa ? step_text(*sa) : "", tb = sb ? step_text(*sb) : "";
			auto bare = [](const std::string &t) { return t.substr(0, t.rfind(':')); };
			// Except P6, P7 and P8: their "ok" includes the VMM's
			// checks (the guest_memfd is frozen, where C1 writes to
			// it; an unsealed mapping is refused and the IOAS is
			// immutable, and a device on an unmarked HWPT is
			// refused, where C1 and S1 change nothing).
			const std::string ra = sa ? sa->expect.rule : "", rb = sb ? sb->expect.rule : "";
			auto checked = [](const std::string &r) {
				return r == "P6" || r == "P7" || r == "P8";
			};
			bool probed = ra != rb && (checked(ra) || checked(rb));
			if (bare(ta) != bare(tb) || probed)
				cd.steps.push_back({i, ta, tb});
		}
		if (!cd.steps.empty()) {
			d.steps += cd.steps.size();
			d.differing.push_back(std::move(cd));
		}
	}
	for (const auto &c : b)
		if (in_b.count(c.id))
			d.only_b.push_back(c.id);
	return d;
}

namespace {

// "preserve(s,vfio,4)=ok:C1" and "preserve(s,vfio,4)=ENOENT:S1" read best
// as the call once and both outcomes.
std::string step_line(const StepDiff &s)
{
	auto call = [](const std::string &t) { return t.substr(0, t.find('=')); };
	auto outcome = [](const std::string &t) {
		auto eq = t.find('=');
		return eq == std::string::npos ? std::string("-") : t.substr(eq + 1);
	};
	std::string head = "  step " + std::to_string(s.index + 1) + " ";
	if (!s.a.empty() && !s.b.empty() && call(s.a) == call(s.b))
		return head + call(s.a) + ": " + outcome(s.a) + " | " + outcome(s.b);
	return head + (s.a.empty() ? "(none)" : s.a) + " | " + (s.b.empty() ? "(none)" : s.b);
}

} // namespace

std::string render_plan_diff(const PlanDiff &d)
{
	std::string out = d.a + " | " + d.b + ": " + std::to_string(d.differing.size()) + " of " +
			  std::to_string(d.cases) + " cases differ, in " + std::to_string(d.steps) +
			  " steps\n";
	for (const auto &c : d.differing) {
		out += c.id + "\n";
		for (const auto &s : c.steps)
			out += step_line(s) + "\n";
	}
	for (const auto &id : d.only_a)
		out += id + ": only under " + d.a + "\n";
	for (const auto &id : d.only_b)
		out += id + ": only under " + d.b + "\n";
	return out;
}

json plan_diff_json(const PlanDiff &d)
{
	json cases = json::array();
	for (const auto &c : d.differing) {
		json steps = json::array();
		for (const auto &s : c.steps)
			steps.push_back({{"step", s.index + 1}, {d.a, s.a}, {d.b, s.b}});
		cases.push_back({{"case", c.id}, {"steps", steps}});
	}
	return {{"contracts", {d.a, d.b}},   {"cases", d.cases},	  {"differing_cases", d.differing.size()},
		{"differing_steps", d.steps}, {"only", {{d.a, d.only_a}, {d.b, d.only_b}}},
		{"diff", cases}};
}

} // namespace luo::core
