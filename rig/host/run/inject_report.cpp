// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/inject_report.hpp"

#include <algorithm>
#include <set>
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
			// A retrieve is walked on copies only when its
			// object's kind can be copied: those say how many
			// points one retrieve passes.
			bool walked = s.op == protocol::Op::retrieve && s.points;
			if (!s.executed || !(protocol::fail_nth_arms(s.op) || walked))
				continue;
			auto &t = out[protocol::to_string(s.op)];
			t.steps++;
			t.paths += s.injected;
			t.most = std::max(t.most, s.injected);
			t.absorbed += s.absorbed;
			t.untouched += s.injected == 0 && !s.absorbed ? 1 : 0;
			if (walked) {
				t.points += s.points;
				t.untried += s.untried;
				t.sampled += s.untried ? 1 : 0;
			}
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

namespace {

bool raced_kind(protocol::ObjectKind k)
{
	return k == protocol::ObjectKind::guest_memfd || k == protocol::ObjectKind::iommufd;
}

} // namespace

bool has_race_target(const std::vector<core::Case> &cases)
{
	for (const auto &c : cases)
		for (const auto &o : c.objects)
			if (raced_kind(o.kind))
				return true;
	return false;
}

std::string nothing_raced(const protocol::Plan &plan, const std::vector<CaseResult> &cases)
{
	// Racers change only a case's own objects (the kexec's: all of them),
	// so a step of a memfd-only case beside a guest_memfd one is no
	// evidence either way, and is not counted as one.
	std::set<std::string> raced_objects, raced_cases;
	for (const auto &o : plan.objects)
		if (raced_kind(o.kind))
			raced_objects.insert(o.name);
	for (const auto &s : plan.steps)
		if (raced_objects.count(s.object))
			raced_cases.insert(s.case_id);
	int steps = 0;
	for (const auto &c : cases)
		for (const auto &s : c.steps) {
			if (!s.executed || !protocol::races_on(s.op))
				continue;
			if (s.raced)
				return "";
			if (s.op == protocol::Op::kexec || raced_cases.count(c.id))
				steps++;
		}
	if (raced_objects.empty() || !steps)
		return "";
	return "--inject race: " + std::to_string(steps) +
	       " steps ran with racers on their guest_memfd and iommufd objects, and the racers "
	       "changed nothing, so nothing was raced; the guest's console says why their "
	       "fallocate() or IOMMU_IOAS_ALLOC failed";
}

std::string race_summary(const std::vector<CaseResult> &cases)
{
	std::map<std::string, std::pair<int, long>> per_op;  // steps, changes
	long all = 0, sessions = 0, refused = 0, carried = 0, devices = 0, waiting = 0;
	int steps = 0;
	for (const auto &c : cases)
		for (const auto &s : c.steps) {
			if (!s.executed || !protocol::races_on(s.op))
				continue;
			auto &t = per_op[protocol::to_string(s.op)];
			t.first++;
			t.second += s.raced;
			all += s.raced;
			sessions += s.raced_sessions;
			refused += s.raced_refused;
			carried += s.raced_carried;
			devices += s.raced_devices;
			waiting += s.raced_waiting;
			steps++;
		}
	std::ostringstream o;
	o << "race: " << all << " changes by the racers while " << steps << " steps ran";
	const char *sep = " (";
	for (const auto &[op, t] : per_op) {
		o << sep << op << " " << t.first << " steps, " << t.second << " changes";
		sep = "; ";
	}
	if (!per_op.empty())
		o << ")";
	if (devices)
		o << ", " << devices << " of them reopened VFIO cdevs";
	o << "; the session racer made " << sessions << " changes";
	if (waiting)
		o << "; " << waiting
		  << " tries to open the group or cdev of a VFIO device the kernel held for its "
		     "retrieve";
	// A change the contract lets userspace make at any time that the
	// kernel refused is either a frozen object's due or a handler's
	// overreach: said, so that a reader sees how much the racers lost.
	if (refused)
		o << "; the kernel refused " << refused
		  << " racer changes (the guest's console names each racer's first)";
	if (carried)
		o << "; " << carried << " racer IOAS came back in retrieved iommufds";
	return o.str();
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
		if (t.points)
			o << "; " << t.points << " points the calls pass";
		if (t.sampled)
			o << ", " << t.untried << " of them untried in " << t.sampled
			  << " steps that had more than --retrieve-copies";
		o << ")";
		sep = "; ";
	}
	return o.str();
}

} // namespace luo::host
