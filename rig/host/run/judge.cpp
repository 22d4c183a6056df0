// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/judge.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "host/run/console.hpp"
#include "host/run/luo_lines.hpp"
#include "host/run/signature.hpp"
#include "host/run/taint.hpp"

namespace luo::host {

using protocol::Op;

namespace {

// What the guest said of a step, into its result; `matches` comes from the
// expectation, and an error path that fail-nth found broken overrides it.
// `before`: what the kernel that tried a kexec said of it (injected events).
void record(StepResult &sr, const protocol::Event &ev, bool matches, const protocol::Event &before)
{
	sr.executed = true;
	sr.result = ev.result;
	sr.err = ev.err;
	sr.detail = ev.detail;
	sr.injected = ev.injected + before.injected;
	sr.raced = ev.raced + before.raced;
	sr.raced_sessions = ev.raced_sessions;
	sr.raced_refused = ev.raced_refused + before.raced_refused;
	sr.raced_carried = ev.raced_carried;
	sr.raced_devices = ev.raced_devices + before.raced_devices;
	sr.raced_waiting = ev.raced_waiting;
	sr.absorbed = ev.absorbed;
	sr.points = ev.points;
	sr.untried = ev.untried;
	sr.inject_broke = ev.inject_broke;
	sr.kernel_report = ev.kernel_report;
	sr.matches = matches && ev.inject_broke.empty();
}

} // namespace

bool step_matches(const core::Expect &e, int result, const std::string &err)
{
	switch (e.kind) {
	case core::Expect::Kind::ok: return result >= 0;
	case core::Expect::Kind::error: return result < 0 && err == e.err;
	case core::Expect::Kind::any_error: return result < 0;
	}
	return false;
}

NextMove next_move(const BatchOutcome &bo, const CaseResult &r, size_t batch_size,
		   bool already_retried, bool bisect)
{
	bool infra = bo.cause == BatchOutcome::Cause::infra && r.verdict == Verdict::infra;
	// A stall before the first event is a boot that never reached the mock
	// VMM: nothing under test ran, so it gets infra's one retry; a second
	// one on a fresh QEMU is the kernel's hang.
	bool early = bo.early_stall && r.verdict == Verdict::hang;
	if (infra || early)
		return already_retried ? NextMove::settle : NextMove::retry_fresh;
	bool unsettled = r.verdict != Verdict::pass && r.verdict != Verdict::violation &&
			 r.verdict != Verdict::setup;
	if (bo.batch_failed && unsettled && batch_size > 1 && bisect)
		return NextMove::bisect;
	return NextMove::settle;
}

namespace {

// The case failed at the rig's own setup (creating an object or a session),
// before the kernel was asked anything about Live Update for it.
bool setup_failure(const CaseResult &r)
{
	if (r.failed_step < 0)
		return false;
	const Op op = r.steps[r.failed_step].op;
	return op == Op::create || op == Op::session_create;
}

// The one place a report becomes a case's words: its title leads, so the
// title is also the failure's signature.
std::string splat_message(const ConsoleFinding &f)
{
	return crash_message(f);
}

// What a case's report says about the VM's splats: the first one as the
// message (and how many more), every excerpt in the diagnostic, and what
// else happened to the case, so that no finding hides another.
void charge_splats(CaseResult &r, const std::vector<Splat> &splats, bool alone, int died_in)
{
	std::string msg = splats.front().message;
	if (splats.size() > 1)
		msg += " (and " + std::to_string(splats.size() - 1) + " more kernel report" +
		       (splats.size() > 2 ? "s" : "") + ")";
	std::string story, seen;
	// The step the guest saw the kernel report logged during, unless the
	// case already failed at a step of its own.  Logged during it is not
	// caused by it (work the kernel queued earlier), so the verdict below
	// does not change for it.
	if (r.failed_step < 0)
		for (std::size_t s = 0; s < r.steps.size(); s++) {
			const auto &sr = r.steps[s];
			if (sr.kernel_report.empty())
				continue;
			r.failed_step = static_cast<int>(s);
			msg += "; logged during step " + std::to_string(s + 1) + " " +
			       protocol::to_string(sr.op) + (sr.object.empty() ? "" : " " + sr.object) +
			       (sr.session.empty() ? "" : " in " + sr.session);
			seen = "the guest saw \"" + sr.kernel_report + "\" logged during step " +
			       std::to_string(s + 1) + "\n";
			break;
		}
	// Else the step the VM stopped in: the guest never got to say what the
	// kernel logged while it ran, because the report took the guest down.
	if (r.failed_step < 0 && died_in >= 0) {
		const auto &sr = r.steps[died_in];
		r.failed_step = died_in;
		std::string step = "step " + std::to_string(died_in + 1) + " " + protocol::to_string(sr.op) +
				   (sr.object.empty() ? "" : " " + sr.object) +
				   (sr.session.empty() ? "" : " in " + sr.session);
		msg += "; the VM stopped during " + step;
		seen = "the VM stopped during " + step + ", which never reported\n";
	}
	if (r.verdict == Verdict::pass) {
	} else if (r.failed_step >= 0 && seen.empty()) {
		// A broken step, or a teardown step that never returned, is
		// part of the report, in both places.
		msg += "; " + r.message;
		story = r.message + "\n";
	} else {
		// The guest giving up, a hang, QEMU's death, an early stop:
		// what followed the splat, kept for the reader.
		story = "then: " + r.message + "\n";
	}
	r.diagnostic = seen + story + r.diagnostic;
	for (const auto &s : splats)
		r.diagnostic += s.excerpt;
	r.message = msg;
	// Alone, the splat is the case's.  In a batch it is not known whose it
	// is: a case that failed otherwise is a crash until it runs again apart
	// (next_move sends a crash of a failed batch there), one that did not
	// is merely unsettled.
	bool failed_otherwise = r.verdict != Verdict::pass && r.verdict != Verdict::incomplete;
	r.verdict = alone || failed_otherwise ? Verdict::crash : Verdict::incomplete;
}

} // namespace

Splat splat_of(const std::string &console, const ConsoleFinding &f, int before, int after)
{
	CaseResult as_crash;
	as_crash.verdict = Verdict::crash;
	as_crash.message = splat_message(f);
	return {as_crash.message, failure_signature(as_crash),
		console_excerpt(console, f, before, after)};
}

std::vector<Splat> splats_of(const std::string &console)
{
	std::vector<Splat> out;
	std::set<std::string> seen;
	for (const auto &f : classify_console(console)) {
		Splat sp = splat_of(console, f);
		if (seen.insert(sp.signature).second)
			out.push_back(std::move(sp));
	}
	return out;
}

const char *to_string(BatchOutcome::Cause c)
{
	using C = BatchOutcome::Cause;
	switch (c) {
	case C::none: return "none";
	case C::kexec_refused: return "kexec-refused";
	case C::hang: return "hang";
	case C::stopped: return "stopped";
	case C::splat: return "splat";
	case C::infra: return "infra";
	case C::guest_fatal: return "guest-fatal";
	}
	return "?";
}

namespace {

// The kernel-visible names of the sessions case `k` of the batch uses.
std::set<std::string> sessions_of(const Batch &batch, size_t k)
{
	std::set<std::string> out;
	for (size_t id = 0; id < batch.refs.size() && id < batch.plan.steps.size(); id++)
		if (batch.refs[id].case_index == static_cast<int>(k) &&
		    !batch.plan.steps[id].session.empty())
			out.insert(batch.plan.steps[id].session);
	return out;
}

} // namespace

BatchOutcome judge_batch(const Batch &batch, const VmResult &vm, const std::string &console)
{
	using Cause = BatchOutcome::Cause;
	BatchOutcome out;
	out.connection_lost = vm.connection_lost;
	if (!vm.events.empty())
		out.last_event = protocol::event_to_json(vm.events.back());
	std::map<std::uint32_t, const protocol::Event *> by_step;
	// Failed freezes of a kexec under fail-nth, and the racers' changes
	// before its reboot, said by the kernel that tried it; the kexec's own
	// event comes from the next one.
	std::map<std::uint32_t, protocol::Event> earlier;
	for (const auto &ev : vm.events) {
		if (ev.type == protocol::EventType::step)
			by_step[ev.step] = &ev;
		if (ev.type == protocol::EventType::injected) {
			auto &e = earlier[ev.step];
			e.injected = std::max(e.injected, ev.injected);
			e.raced = std::max(e.raced, ev.raced);
			e.raced_refused = std::max(e.raced_refused, ev.raced_refused);
			e.raced_devices = std::max(e.raced_devices, ev.raced_devices);
		}
	}
	const protocol::Event none;
	auto before = [&](std::uint32_t id) -> const protocol::Event & {
		auto it = earlier.find(id);
		return it == earlier.end() ? none : it->second;
	};

	out.cases.resize(batch.cases.size());
	// Case -> its teardown step that never returned and held up the rest.
	std::map<int, int> stuck_teardown;
	for (size_t k = 0; k < batch.cases.size(); k++) {
		const auto &c = *batch.cases[k];
		auto &r = out.cases[k];
		r.id = c.id;
		r.scenario = c.scenario;
		r.vm_dir = vm.console_log.parent_path().string();
		r.host = vm.host;
		r.schedule = to_string(batch.schedule);
		r.attempts = 1;
		r.steps.resize(c.steps.size());
		for (size_t s = 0; s < c.steps.size(); s++) {
			const auto &cs = c.steps[s];
			auto &sr = r.steps[s];
			sr.op = cs.op;
			sr.session = cs.session;
			sr.object = cs.object;
			sr.token = cs.token;
			sr.expect = cs.expect;
		}
	}

	// A kexec the case expects to succeed is the batch's shared one: its
	// outcome belongs to every case that goes through it.
	std::vector<std::uint32_t> shared_kexecs;
	int escaped_case = -1;
	// The first step of the plan that never reported.  A teardown step runs
	// on the main thread alone, so when it is one, everything after it
	// waited on it.
	int stuck_step = -1;
	// A case's own step of the main thread that never reported: the one
	// in flight when the VM stopped, by case.
	std::map<int, std::size_t> died_in;
	for (size_t id = 0; id < batch.refs.size(); id++) {
		const auto &ref = batch.refs[id];
		const protocol::Event *ev = by_step.count(id) ? by_step[id] : nullptr;
		if (!ev && stuck_step < 0)
			stuck_step = id;
		if (ref.teardown) {
			// Closing what the case held runs the handlers' release
			// paths: the case's own step, expected to succeed.
			StepResult sr;
			sr.op = batch.plan.steps[id].op;
			sr.object = ref.object;
			sr.session = ref.session;
			sr.teardown = true;
			sr.expect.rule = "teardown";
			if (ev)
				record(sr, *ev, step_matches(sr.expect, ev->result, ev->err), before(id));
			if ((int)id == stuck_step)
				stuck_teardown[ref.case_index] = out.cases[ref.case_index].steps.size();
			out.cases[ref.case_index].steps.push_back(sr);
			continue;
		}
		if (ref.case_index < 0) {
			shared_kexecs.push_back(id);
			if (ev && ev->result != 0) {
				out.batch_failed = true;
				out.cause = Cause::kexec_refused;
				out.why = "the batch's kexec was refused: " + ev->err + " " + ev->detail;
			}
			continue;
		}
		auto &sr = out.cases[ref.case_index].steps[ref.case_step];
		if ((int)id == stuck_step && batch.plan.steps[id].thread == 0)
			died_in[ref.case_index] = ref.case_step;
		if (!ev)
			continue;
		// A kexec the case expected to be refused that went through took
		// the whole VM into the next kernel, ahead of everybody else.
		if (batch.plan.steps[id].op == protocol::Op::kexec && ev->result == 0 &&
		    escaped_case < 0)
			escaped_case = ref.case_index;
		record(sr, *ev, step_matches(sr.expect, ev->result, ev->err), before(id));
	}
	// Shared kexecs: fill the case steps that stand for them, in order,
	// from the one that leaves the case's round.
	for (size_t k = 0; k < batch.cases.size(); k++) {
		const auto &c = *batch.cases[k];
		size_t n = batch.rounds.empty() ? 0 : batch.rounds[k];
		for (size_t s = 0; s < c.steps.size(); s++) {
			const auto &cs = c.steps[s];
			if (cs.op != Op::kexec || cs.expect.kind != core::Expect::Kind::ok)
				continue;
			if (n < shared_kexecs.size() && by_step.count(shared_kexecs[n])) {
				const auto *ev = by_step[shared_kexecs[n]];
				record(out.cases[k].steps[s], *ev, ev->result == 0,
				       before(shared_kexecs[n]));
			}
			n++;
		}
	}

	// The guest's own alarms.  A fatal means the mock VMM could not run the
	// plan at all: the rig (or its input) is at fault, not the kernel.
	// A leak scan the plan needs that could not run is a setup error too:
	// a debug run must never be green without it.
	const protocol::Event *fatal = nullptr;
	std::vector<std::string> warnings;
	for (const auto &ev : vm.events) {
		bool gave_up = ev.type == protocol::EventType::fatal ||
			       ev.type == protocol::EventType::kmemleak;
		if (gave_up && !fatal)
			fatal = &ev;
		if (ev.type == protocol::EventType::warning)
			warnings.push_back("guest warning in boot " + std::to_string(ev.boot) + ": " +
					   (ev.err.empty() ? "" : ev.err + ": ") + ev.detail);
	}
	for (auto &r : out.cases)
		r.warnings = warnings;

	out.splats = splats_of(console);
	// A kernel that tainted itself printed something we did not recognise
	// (or lost it): still the kernel's failure, titled by its letters.
	if (auto t = unexplained_taint(vm.events); out.splats.empty() && t) {
		t->line = std::count(console.begin(), console.end(), '\n');
		out.splats.push_back(splat_of(console, *t, 12, 0));
	}
	const bool splat = !out.splats.empty();
	if (splat)
		out.excerpt = out.splats.front().excerpt;
	auto gave_up = [&](bool short_form) {
		if (fatal->type == protocol::EventType::kmemleak)
			return "no leak scan in boot " + std::to_string(fatal->boot) + ": " +
			       (fatal->err.empty() ? "" : fatal->err + ": ") + fatal->detail;
		return short_form ? "the mock VMM gave up: " + fatal->detail
				  : "the mock VMM gave up in boot " + std::to_string(fatal->boot) +
					    ": " + fatal->detail;
	};
	bool vm_ok = vm.status == VmResult::Status::done && !fatal;
	if (!vm_ok && !out.batch_failed) {
		out.batch_failed = true;
		out.why = fatal ? gave_up(true)
				: std::string("VM ") + to_string(vm.status) + ": " + vm.why;
	}
	// A splat outranks the guest giving up and QEMU's death: the mock VMM
	// may have given up because the kernel broke under it, and a rerun on
	// a fresh QEMU that passes must not make the kernel's report disappear.
	if (splat)
		out.cause = Cause::splat;
	else if (fatal)
		out.cause = Cause::guest_fatal;
	else if (vm.status == VmResult::Status::infra ||
		 vm.status == VmResult::Status::interrupted)
		out.cause = Cause::infra;
	else if (vm.status == VmResult::Status::hang) {
		out.cause = Cause::hang;
		out.early_stall = vm.events.empty();
	}
	else if (vm.status == VmResult::Status::exited && out.cause == Cause::none)
		out.cause = Cause::stopped;

	// The teardown step that never returned, when the VM then hung or the
	// kernel reported why: its case is the one the kernel was busy with.
	int stuck_case = -1;
	bool blame = vm.status == VmResult::Status::hang || splat;
	if (stuck_step >= 0 && batch.refs[stuck_step].teardown && blame && !fatal)
		stuck_case = batch.refs[stuck_step].case_index;
	// Read once for every case a violation can quote it to.
	const std::vector<std::string> luo_said = luo_lines(console);
	for (size_t k = 0; k < out.cases.size(); k++) {
		auto &r = out.cases[k];
		bool all_run = true;
		for (size_t s = 0; s < r.steps.size(); s++) {
			const auto &sr = r.steps[s];
			if (sr.executed && !sr.matches) {
				r.verdict = Verdict::violation;
				r.failed_step = s;
				r.message = std::string(sr.teardown ? "teardown " : "") + "step " +
					    std::to_string(s + 1) + " " + protocol::to_string(sr.op) +
					    (sr.object.empty() ? "" : " " + sr.object) +
					    (sr.session.empty() ? "" : " in " + sr.session) +
					    ": expected " + describe_expect(sr.expect) +
					    ", observed " + describe_observed(sr);
				if (!sr.detail.empty())
					r.diagnostic += sr.detail + "\n";
				for (const auto &l : luo_lines_about(luo_said, sessions_of(batch, k)))
					r.diagnostic += "kernel: " + l + "\n";
				break;
			}
			all_run &= sr.executed;
		}
		if (r.verdict == Verdict::violation)
			continue;
		// Every step of the plan reported, yet the VM did not end well:
		// what ran after the last of them (closing /dev/liveupdate, the
		// leak scan, the power-off) belongs to the batch as a whole.
		if (all_run && (vm_ok || stuck_step >= 0)) {
			r.verdict = Verdict::pass;
			continue;
		}
		std::string prefix;
		if (all_run && fatal)
			prefix = "every step ran, then ";
		else if (all_run)
			prefix = "every step ran, then the VM did not finish (closing "
				 "/dev/liveupdate, the leak scan or the power-off): ";
		if (stuck_case >= 0 && (int)k != stuck_case && !all_run) {
			const auto &st = batch.plan.steps[stuck_step];
			r.verdict = Verdict::incomplete;
			r.message = "held up by the teardown of " + out.cases[stuck_case].id + " (" +
				    protocol::to_string(st.op) + " in boot " +
				    std::to_string(st.boot) + "), which never returned";
			continue;
		}
		if ((int)k == stuck_case) {
			int s = stuck_teardown[k];
			const auto &sr = r.steps[s];
			r.failed_step = s;
			prefix = "teardown step " + std::to_string(s + 1) + " " +
				 protocol::to_string(sr.op) +
				 (sr.object.empty() ? "" : " " + sr.object) +
				 (sr.session.empty() ? "" : " " + sr.session) + " never returned: ";
		}
		// Steps are missing: say why, as precisely as the batch allows
		// (a splat among the reasons is added below, to every case).
		if (fatal) {
			r.verdict = Verdict::setup;
			r.message = prefix + gave_up(false);
		} else if (vm.status == VmResult::Status::hang) {
			r.verdict = Verdict::hang;
			r.message = prefix + vm.why;
		} else if (vm.status == VmResult::Status::infra ||
			   vm.status == VmResult::Status::interrupted) {
			r.verdict = Verdict::infra;
			r.message = prefix + vm.why;
		} else {
			r.verdict = Verdict::incomplete;
			r.message = prefix + (out.why.empty() ? "steps did not run" : out.why);
		}
	}
	// Output the backend lost may have held a splat: a case whose steps
	// all matched has not passed, it has no verdict (infra, run again).
	if (!vm.output_lost.empty())
		for (auto &r : out.cases)
			if (r.verdict == Verdict::pass) {
				r.verdict = Verdict::infra;
				r.message = vm.why;
			}
	if (stuck_case >= 0) {
		// The others only waited on it; all run again, the stuck case
		// alone shows whether the failure is its own.
		out.batch_failed = true;
		out.why = out.cases[stuck_case].id + ": " + out.cases[stuck_case].message;
	}
	if (escaped_case >= 0) {
		out.batch_failed = true;
		// The escape is the case's own, but a splat in the same VM is
		// not known to be: then nothing is pinned and the splat is
		// traced like any other.
		out.pinned = !splat;
		if (!splat)
			out.cause = Cause::stopped;
		out.why = "the kexec of " + out.cases[escaped_case].id +
			  " had to be refused but went through, cutting the first kernel short";
		for (size_t k = 0; k < out.cases.size(); k++) {
			if ((int)k == escaped_case)
				continue;
			out.cases[k].verdict = Verdict::incomplete;
			out.cases[k].message = out.why;
		}
	}
	// A case that could not even set up (its create failed) in a VM where
	// another case broke the contract may have met that case's leftovers:
	// the plan believed a session empty that the kernel kept, and a device
	// stayed bound.  Such a failure is not pinned on it; it runs again apart.
	auto culprit = std::find_if(out.cases.begin(), out.cases.end(), [](const CaseResult &r) {
		return r.verdict == Verdict::violation && !setup_failure(r);
	});
	for (auto &r : out.cases)
		if (culprit != out.cases.end() && r.verdict == Verdict::violation && setup_failure(r)) {
			r.verdict = Verdict::incomplete;
			r.message += ", in a VM where " + culprit->id +
				     " broke the contract first; run again apart";
		}
	// Steps that never ran were stopped by something outside their case.
	for (const auto &r : out.cases)
		if (r.verdict == Verdict::incomplete) {
			out.batch_failed = true;
			if (out.why.empty())
				out.why = r.message;
		}

	// A kernel splat fails every case of its VM, whatever else the case
	// went through; that story stays in its report.  In a batch the splat
	// cannot be pinned on one case, so the cases run again apart (the run
	// keeps the splat: if no rerun reproduces it, it is still reported).
	if (splat) {
		const bool alone = batch.cases.size() == 1;
		for (size_t k = 0; k < out.cases.size(); k++) {
			auto it = died_in.find((int)k);
			charge_splats(out.cases[k], out.splats, alone,
				      it == died_in.end() || fatal ? -1 : (int)it->second);
		}
		if (!alone) {
			out.batch_failed = true;
			out.why = "kernel report during the batch: " + out.splats.front().message;
		}
	}
	return out;
}

} // namespace luo::host
