// SPDX-License-Identifier: GPL-2.0-only
//
// Runner's race mode: a step's Live Update call runs while racers
// (racer.hpp) change the objects of its case, or, for the kexec whose
// freeze walks every preserved object, all the objects the VMM holds.
#include <map>
#include <set>

#include "race_window.hpp"
#include "racer.hpp"
#include "runner.hpp"

namespace luo::guest {

using protocol::Op;

std::map<std::string, std::set<std::string>> Runner::case_objects(const protocol::Plan &plan)
{
	// A case's objects are those its steps name; the planner gives no
	// object to two cases.
	std::map<std::string, std::set<std::string>> out;
	for (const auto &s : plan.steps)
		if (!s.object.empty())
			out[s.case_id].insert(s.object);
	return out;
}

std::vector<Racer::Target> Runner::race_targets(const protocol::Step &step)
{
	auto it = case_objects_.find(step.case_id);
	std::vector<Racer::Target> out;
	for (const auto &o : plan_.objects) {
		if (!step.case_id.empty() && (it == case_objects_.end() || !it->second.count(o.name)))
			continue;
		Racer::Target t{&o, objects_.fd(o.name)};
		if (o.kind == protocol::ObjectKind::iommufd)
			t.mapped = objects_.mapped_by(o.name);
		if (o.kind == protocol::ObjectKind::guest_memfd)
			t.vm_fd = objects_.fd(o.depends_on);
		if (o.kind == protocol::ObjectKind::vfio_cdev) {
			objects_.device_addr(o, t.pci_addr);
			t.waiting = t.fd < 0 && held_for_retrieve(plan_, step, o.name);
		}
		out.push_back(t);
	}
	return out;
}

Outcome Runner::execute_raced(const protocol::Step &step, protocol::Event &ev)
{
	if (step.op != Op::kexec) {
		// The session racer needs the device open; a step that opens it
		// (the first CREATE_SESSION) is raced by the object racers only.
		int dev = -1;
		{
			std::lock_guard lock(mu_);
			dev = devfd_;
		}
		Racer racer(race_targets(step), dev);
		racer.wait_started();
		Outcome o = execute(step);
		ev.raced = racer.stop();
		ev.raced_sessions = racer.session_changes();
		ev.raced_refused = racer.refused();
		ev.raced_devices = racer.device_changes();
		ev.raced_waiting = racer.waiting_opens();
		// Before any racer reaches the iommufd just retrieved.
		if (o && step.op == Op::retrieve && !step.object.empty())
			if (const auto *spec = protocol::find_object(plan_, step.object);
			    spec && spec->kind == protocol::ObjectKind::iommufd)
				ev.raced_carried = Racer::carried_over(
					objects_.fd(step.object), step.object,
					objects_.mapped_by(step.object));
		return o;
	}
	std::string detail;
	if (int rc = load_kexec(step, detail))
		return Outcome::fail(rc, detail);
	// No session racer: a session it left open at the reboot would
	// cross into the next kernel.
	Racer racer(race_targets(step), -1);
	racer.wait_started();
	// The next kernel reports the kexec's own event, so the racers' work
	// before the reboot is said from this side.
	protocol::Event pre;
	pre.type = protocol::EventType::injected;
	pre.step = step.id;
	pre.case_id = step.case_id;
	pre.raced = racer.changes();
	pre.raced_refused = racer.refused();
	pre.raced_devices = racer.device_changes();
	events_.emit(pre);
	int rc = reboot_into_next(detail);
	ev.raced = racer.stop();
	ev.raced_refused = racer.refused();
	ev.raced_devices = racer.device_changes();
	return Outcome::fail(rc, detail);
}

} // namespace luo::guest
