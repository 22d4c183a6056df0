// SPDX-License-Identifier: GPL-2.0-only
//
// Runner's fail-nth mode: a step whose Live Update call can fail runs with
// fail-nth = 1, 2, 3... until its call no longer reaches the injected
// failure.  Each injected failure must come back as an errno and change
// nothing; the last run, which nothing was injected into, is the step's
// outcome, and the oracle judges it as in any other run.  So a failure path
// that leaves a half-made session, a registered token or an installed fd
// behind shows as that last run's wrong outcome (EEXIST, a second file...),
// and one that leaks or corrupts memory shows on the console.
#include <cerrno>
#include <cstring>
#include <functional>
#include <unistd.h>

#include "fail_nth.hpp"
#include "luo.hpp"
#include "retrieve_points.hpp"
#include "runner.hpp"

namespace luo::guest {

using protocol::Op;

namespace {

// An injected failure the kernel never returns from is a hang; one that
// keeps failing past this many points is a loop the mode must not follow.
constexpr unsigned kMaxPoints = 5000;

// What an injected failure at point n broke, or empty: it must come back as
// an errno and leave no file open (before/after: the process's open files,
// -1 when another thread's count would be in them).
std::string injected_broke(unsigned n, const Outcome &o, int before, int after)
{
	if (o.result < -4095)
		return "fail-nth " + std::to_string(n) + ": the call failed without an errno (" +
		       std::to_string(o.result) + ")";
	if (after != before)
		return "fail-nth " + std::to_string(n) + ": " + protocol::errno_name(o.result) +
		       ", but " + std::to_string(after - before) +
		       " file(s) more are open than before the call (" + o.detail + ")";
	return "";
}

} // namespace

bool Runner::inject_setup()
{
	if (auto o = fail_nth::setup(); !o) {
		emit_fatal(o.result, "fail-nth: " + o.detail);
		return false;
	}
	return true;
}

Outcome Runner::walk(const protocol::Step &step, protocol::Event &ev, const Walk &w)
{
	// Threads share the fd table: only a step of the main thread can
	// count it.
	const bool count_fds = step.thread == 0;
	for (unsigned n = 1; n <= kMaxPoints; n++) {
		if (w.prepare)
			if (Outcome p = w.prepare(); !p)
				return p;
		int before = count_fds ? fail_nth::open_fds() : -1;
		fail_nth::arm(n);
		Outcome o = w.attempt();
		auto r = fail_nth::take();
		if (!r.error.empty())
			throw RigFault{-EIO, "fail-nth " + std::to_string(n) + ": " + r.error};
		if (!r.hit)
			return o;
		if (o) {
			// The kernel got over the failure (a fallback, a retry)
			// and the call did its work: undone, the walk goes on to
			// the points past it; otherwise it ends here.
			ev.absorbed++;
			if (!w.undo)
				return o;
			w.undo();
			continue;
		}
		ev.injected++;
		ev.inject_broke = injected_broke(n, o, before, count_fds ? fail_nth::open_fds() : -1);
		if (!ev.inject_broke.empty())
			return o;
	}
	ev.inject_broke = "fail-nth: the call still reached an injected failure after " +
			  std::to_string(kMaxPoints) + " tries";
	return Outcome::fail(-ELOOP, ev.inject_broke);
}

Outcome Runner::execute_injected(const protocol::Step &step, protocol::Event &ev)
{
	if (step.op == Op::kexec)
		return kexec_injected(step);
	if (step.op == Op::preserve)
		return preserve_injected(step, ev);
	if (step.op == Op::retrieve)
		return retrieve_injected(step, ev);
	Walk w;
	w.attempt = [&] { return execute(step); };
	// A session made despite an injected failure is closed again (an
	// outgoing session with nothing in it), so the walk can go on.
	if (step.op == Op::session_create)
		w.undo = [&] {
			std::lock_guard lock(mu_);
			auto it = sessions_.find(step.session);
			if (it != sessions_.end()) {
				close(it->second);
				sessions_.erase(it);
			}
		};
	return walk(step, ev, w);
}

Outcome Runner::preserve_injected(const protocol::Step &step, protocol::Event &ev)
{
	// The walk preserves the object into a session of its own, which is
	// closed (unpreserving it) whenever a preserve got through, so that
	// no PRESERVE_FD that succeeded ends the walk.  The step itself then
	// runs unarmed in its own session: that is the retry the oracle
	// judges.  Closing the walk's sessions runs the unpreserve paths too.
	int fd = objects_.fd(step.object);
	int dev = device();
	if (fd >= 0 && dev >= 0) {
		int scratch = -1;
		unsigned made = 0;
		auto drop = [&] {
			if (scratch >= 0)
				close(scratch);
			scratch = -1;
		};
		Walk w;
		w.prepare = [&] {
			if (scratch >= 0)
				return Outcome::ok();
			std::string name = "fail-nth-" + std::to_string(step.id) + "-" +
					   std::to_string(made++);
			scratch = luo::create_session(dev, name);
			// Unarmed: the plan's own sessions are made the same way, so
			// the walk has nowhere to try the preserve and the step
			// would pass for one whose error paths were tried.
			if (scratch < 0)
				throw RigFault{scratch, "fail-nth: CREATE_SESSION " + name +
							       " for the preserve's walk: " +
							       protocol::errno_name(scratch)};
			return Outcome::ok();
		};
		w.attempt = [&] {
			int rc = luo::preserve(scratch, fd, step.token);
			return Outcome{rc < 0 ? rc : 0, "PRESERVE_FD " + step.object + " in the walk's session"};
		};
		w.undo = drop;
		walk(step, ev, w);
		drop();
	}
	Outcome o = execute(step);
	if (o)
		preserve_copies(step);
	return o;
}

const protocol::ObjectSpec *Runner::walked_on_copies(const protocol::Step &step) const
{
	if (!plan_.retrieve_copies || step.object.empty())
		return nullptr;
	const protocol::ObjectSpec *spec = protocol::find_object(plan_, step.object);
	if (!spec || !protocol::retrieve_copyable(spec->kind))
		return nullptr;
	// An iommufd crosses by the HWPTs its devices are attached through,
	// and a copy has no device: its preserve would prove nothing.
	if (spec->kind == protocol::ObjectKind::iommufd && !plan_.iommufd_seal_err.empty())
		return nullptr;
	return spec;
}

void Runner::preserve_copies(const protocol::Step &step)
{
	const protocol::ObjectSpec *spec = walked_on_copies(step);
	if (!spec)
		return;
	int sfd;
	if (!with_session(step, sfd))
		return;
	// Unarmed, after the step's own event is settled: a copy that cannot
	// be made or preserved is the rig's problem, and says so.
	for (std::uint32_t i = 1; i <= plan_.retrieve_copies; i++) {
		int fd = -1;
		if (Outcome o = objects_.make_copy(*spec, fd); !o)
			throw RigFault{o.result, "fail-nth: copy " + std::to_string(i) + " of " +
							 step.object + " for its retrieve's walk: " + o.detail};
		int rc = luo::preserve(sfd, fd, protocol::copy_token(step.token, i));
		close(fd);
		if (rc < 0)
			throw RigFault{rc, "fail-nth: PRESERVE_FD of copy " + std::to_string(i) + " of " +
						   step.object + " (its own PRESERVE_FD succeeded): " +
						   protocol::errno_name(rc)};
	}
}

Outcome Runner::retrieve_injected(const protocol::Step &step, protocol::Event &ev)
{
	// The copies are retrieved, one per try; the step then retrieves the
	// object itself unarmed, and that is the outcome the oracle judges.
	// A copy that crossed is one more file of the session at FINISH, as
	// the object itself: unretrieved, failed, or retrieved and closed.
	int sfd;
	if (!walked_on_copies(step) || !with_session(step, sfd))
		return execute(step);
	std::uint32_t *counter;
	{
		std::lock_guard lock(mu_);
		counter = &copies_used_[{step.session, step.token}];
	}
	std::uint32_t &used = *counter;
	const bool count_fds = step.thread == 0;
	// One armed try on the next copy: its outcome and what fail-nth said.
	auto attempt = [&](unsigned n, fail_nth::Result &r) {
		std::uint64_t t = protocol::copy_token(step.token, ++used);
		fail_nth::arm(n);
		int fd = luo::retrieve(sfd, t);
		r = fail_nth::take();
		if (!r.error.empty())
			throw RigFault{-EIO, "fail-nth " + std::to_string(n) + ": " + r.error};
		if (fd >= 0)
			close(fd);
		return fd < 0 ? Outcome::fail(fd, "RETRIEVE_FD of copy " + std::to_string(used) +
							  " of " + step.object)
			      : Outcome::ok();
	};
	// The first copy counts the points one retrieve passes; the others
	// fail at each of them, or at a spread of them when they are fewer.
	if (used >= plan_.retrieve_copies)
		return execute(step);
	fail_nth::Result r;
	Outcome counted = attempt(fail_nth::kCountOnly, r);
	// A copy that fails unhit fails for a reason of the kernel's (its
	// dependency not retrieved yet): so would each try, and the object's
	// own retrieve should fail alike.  When it does not, the copies were
	// not the object's equal and its error paths went unwalked: said, so
	// that a run never passes for one that walked them.
	if (!counted || r.hit) {
		Outcome own = execute(step);
		if (own && !counted) {
			protocol::Event w;
			w.type = protocol::EventType::warning;
			w.step = step.id;
			w.case_id = step.case_id;
			w.err = protocol::errno_name(counted.result);
			w.detail = "fail-nth: step " + std::to_string(step.id) + " (" + step.object +
				   "): " + counted.detail + " failed where the object's own retrieve " +
				   "succeeded; its RETRIEVE_FD error paths were not walked";
			events_.emit(w);
		}
		return own;
	}
	PointWalk points(fail_nth::kCountOnly - r.left, plan_.retrieve_copies - used);
	for (unsigned n; (n = points.next());) {
		int before = count_fds ? fail_nth::open_fds() : -1;
		Outcome o = attempt(n, r);
		points.tried(n, r.hit, n - r.left);
		if (!r.hit || o) {
			// Fewer points this time, or a failure the kernel got over.
			ev.absorbed += r.hit ? 1 : 0;
			continue;
		}
		ev.injected++;
		if (std::string broke = injected_broke(n, o, before, count_fds ? fail_nth::open_fds() : -1);
		    !broke.empty()) {
			ev.inject_broke = broke;
			break;
		}
	}
	ev.points = points.points();
	ev.untried = points.untried();
	return execute(step);
}

Outcome Runner::kexec_injected(const protocol::Step &step)
{
	std::string detail;
	// The freezes that fail below come after this kernel's leak scan; what
	// they leak is seen only if it breaks something the console shows.
	if (int rc = load_kexec(step, detail))
		return Outcome::fail(rc, detail);
	for (unsigned n = 1; n <= kMaxPoints; n++) {
		fail_nth::arm(n);
		int rc;
		{
			fail_nth::Window armed;
			// Returns only when the kexec did not happen.
			rc = reboot_into_next(detail);
		}
		auto r = fail_nth::take();
		if (!r.error.empty())
			throw RigFault{-EIO, "fail-nth " + std::to_string(n) + " on the kexec: " + r.error};
		if (!r.hit)
			return Outcome::fail(rc, detail);
		// The next kernel reports the kexec's own event; the count of
		// failed freezes before it must be said from this side.
		protocol::Event ev;
		ev.type = protocol::EventType::injected;
		ev.step = step.id;
		ev.case_id = step.case_id;
		ev.injected = n;
		ev.result = rc;
		ev.err = protocol::errno_name(rc);
		events_.emit(ev);
	}
	return Outcome::fail(-EIO, "fail-nth: the kexec still failed after " +
					   std::to_string(kMaxPoints) + " injected failures");
}

} // namespace luo::guest
