// SPDX-License-Identifier: GPL-2.0-only
#include "runner.hpp"

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <linux/kcmp.h>
#include <optional>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include "end_of_boot.hpp"
#include "luo.hpp"

namespace luo::guest {

using protocol::Op;

namespace {

Outcome from_rc(int rc, const std::string &what)
{
	if (rc >= 0)
		return Outcome::ok();
	return Outcome::fail(rc, what + ": " + strerror(-rc));
}

} // namespace

Runner::Runner(const protocol::Plan &plan, const BootInfo &boot, EventChannel &events)
	: plan_(plan), boot_(boot), events_(events), objects_(plan),
	  case_objects_(plan.race ? case_objects(plan) : decltype(case_objects_){})
{
}

Runner::~Runner()
{
	for (auto &[name, fd] : sessions_)
		close(fd);
	if (devfd_ >= 0)
		close(devfd_);
}

// Only one process may hold /dev/liveupdate, and it is ours for the whole boot.
int Runner::device()
{
	std::lock_guard lock(mu_);
	if (devfd_ < 0)
		devfd_ = luo::open_device();
	return devfd_;
}

Outcome Runner::with_session(const protocol::Step &step, int &sfd)
{
	std::lock_guard lock(mu_);
	auto it = sessions_.find(step.session);
	if (it == sessions_.end())
		return Outcome::fail(-EBADF, "session '" + step.session + "' is not open");
	sfd = it->second;
	return Outcome::ok();
}

Outcome Runner::open_session(const std::string &name, int (*open)(int, const std::string &),
			     const char *what)
{
	int dev = device();
	if (dev < 0)
		return from_rc(dev, "open /dev/liveupdate");
	int fd = open(dev, name);
	if (fd >= 0) {
		std::lock_guard lock(mu_);
		sessions_[name] = fd;
	}
	return from_rc(fd, what + name);
}

Outcome Runner::same_object(const protocol::Step &step)
{
	int sfd;
	if (auto o = with_session(step, sfd); !o)
		return o;
	int first = objects_.fd(step.object);
	if (first < 0)
		return Outcome::fail(-EBADF, "'" + step.object + "' was not retrieved before");
	int again = luo::retrieve(sfd, step.token);
	if (again < 0)
		return from_rc(again, "second RETRIEVE_FD of token " + std::to_string(step.token));
	pid_t me = getpid();
	long same = syscall(SYS_kcmp, me, me, KCMP_FILE, first, again);
	int err = errno;
	close(again);
	if (same < 0)
		return Outcome::fail(-err, std::string("kcmp: ") + strerror(err));
	if (same != 0)
		return Outcome::fail(-ESTALE, "second RETRIEVE_FD returned a different file");
	return Outcome::ok();
}

int Runner::load_kexec(const protocol::Step &step, std::string &detail)
{
	// Whatever this kernel leaked or tainted itself with dies with it
	// unless reported now.  A case's own kexec is one the contract expects
	// refused: it gets no wait of its own.
	end_of_boot(plan_, events_, step.case_id.empty());
	return load_next(boot_, step.id, detail);
}

Outcome Runner::execute(const protocol::Step &step)
{
	const protocol::ObjectSpec *spec = protocol::find_object(plan_, step.object);
	bool needs_object = step.op == Op::create || step.op == Op::preserve ||
			    step.op == Op::verify || step.op == Op::verify_fresh ||
			    step.op == Op::open_device || step.op == Op::open_group ||
			    step.op == Op::bind_device ||
			    step.op == Op::check_unbound || step.op == Op::run_vcpu ||
			    step.op == Op::move_device;
	if (needs_object && !spec)
		return Outcome::fail(-EINVAL, "plan names unknown object '" + step.object + "'");

	int sfd = -1;
	switch (step.op) {
	case Op::create:
		return objects_.create(*spec);
	case Op::session_create:
		return open_session(step.session, luo::create_session, "CREATE_SESSION ");
	case Op::session_retrieve:
		return open_session(step.session, luo::retrieve_session, "RETRIEVE_SESSION ");
	case Op::session_close:
		if (auto o = with_session(step, sfd); !o)
			return o;
		{
			std::lock_guard lock(mu_);
			sessions_.erase(step.session);
		}
		return from_rc(close(sfd) ? -errno : 0, "close session " + step.session);
	case Op::preserve: {
		if (auto o = with_session(step, sfd); !o)
			return o;
		int fd = objects_.fd(step.object);
		if (fd < 0)
			return Outcome::fail(-EBADF, "'" + step.object + "' has no open fd");
		const std::string call = "PRESERVE_FD " + step.object + " as " + std::to_string(step.token);
		auto probe = objects_.before_preserve(*spec, step, sfd);
		if (!probe.outcome)
			return Outcome::fail(probe.outcome.result ? probe.outcome.result : -EIO,
					     call + ", its probe: " + probe.outcome.detail);
		Outcome o = from_rc(luo::preserve(sfd, fd, step.token), call);
		// A probe refused with another errno than the rule's: if the
		// real call goes through, the handler broke the rule that way;
		// if not, the LUO core's own checks came first (objects.hpp).
		if (o && !probe.wrong_errno.empty())
			return Outcome::fail(-EPROTO, call + " succeeded, but " + probe.wrong_errno);
		if (!o)
			return o;
		// The kernel said yes; what the VMM does next is part of the step,
		// and a failure there must not pass for the kernel's answer.
		if (auto late = objects_.preserved(*spec); !late)
			return Outcome::fail(late.result ? late.result : -EIO,
					     "PRESERVE_FD " + step.object + " succeeded, then: " + late.detail);
		return o;
	}
	case Op::retrieve: {
		if (auto o = with_session(step, sfd); !o)
			return o;
		int fd = luo::retrieve(sfd, step.token);
		// A retrieve the plan binds to no object probes an unknown token.
		if (fd >= 0 && step.object.empty())
			close(fd);
		else if (fd >= 0)
			objects_.adopt(step.object, fd);
		return from_rc(fd, "RETRIEVE_FD " + std::to_string(step.token));
	}
	case Op::retrieve_unwritable: {
		if (auto o = with_session(step, sfd); !o)
			return o;
		// Even if the kernel wrongly reports success, the fd number never
		// reached us: nothing to adopt.
		return from_rc(luo::retrieve_unwritable(sfd, step.token),
			       "RETRIEVE_FD " + std::to_string(step.token) + " with a read-only argument");
	}
	case Op::same_object:
		return same_object(step);
	case Op::verify:
		return objects_.verify(*spec);
	case Op::verify_fresh:
		return objects_.verify_fresh(*spec);
	case Op::finish:
		if (auto o = with_session(step, sfd); !o)
			return o;
		return from_rc(luo::finish(sfd), "FINISH " + step.session);
	case Op::close_object:
		return from_rc(objects_.close(step.object), "close " + step.object);
	case Op::open_device:
		return objects_.open_device(*spec);
	case Op::open_group:
		return objects_.open_group(*spec);
	case Op::bind_device:
		return objects_.bind_device(*spec);
	case Op::check_unbound:
		return objects_.check_unbound(*spec);
	case Op::run_vcpu:
		return objects_.run_vcpu(*spec);
	case Op::move_device:
		return objects_.move_device(*spec);
	case Op::kexec: {
		std::string detail;
		if (int rc = load_kexec(step, detail))
			return Outcome::fail(rc, detail);
		return Outcome::fail(reboot_into_next(detail), detail);
	}
	}
	return Outcome::fail(-EINVAL, "unknown op");
}

void Runner::run()
{
	if (plan_.fail_nth) {
		// Without it every step would run once, and the run would pass
		// for one that tried the error paths.
		if (!inject_setup())
			return;
		inject_ = true;
		// Opened now, not by the first session step: that step's
		// count of open files must not include the rig's own.
		device();
	}
	if (!plan_.edu_devices.empty()) {
		if (auto o = objects_.prepare_devices(); !o) {
			protocol::Event ev;
			ev.type = protocol::EventType::warning;
			ev.err = protocol::errno_name(o.result);
			ev.detail = o.detail;
			events_.emit(ev);
		}
	}
	const auto &steps = plan_.steps;
	try {
		for (size_t i = 0; i < steps.size();) {
			if (steps[i].boot != boot_.boot) {
				i++;
				continue;
			}
			if (steps[i].thread == 0) {
				run_one(steps[i++]);
				continue;
			}
			std::vector<const protocol::Step *> run;
			for (; i < steps.size() && steps[i].boot == boot_.boot && steps[i].thread != 0;
			     i++)
				run.push_back(&steps[i]);
			run_threaded(run);
		}
	} catch (const RigFault &f) {
		emit_fatal(f.err, f.detail);
	}
}

void Runner::emit_fatal(int err, const std::string &detail)
{
	protocol::Event ev;
	ev.type = protocol::EventType::fatal;
	ev.err = protocol::errno_name(err);
	ev.detail = detail;
	events_.emit(ev);
}

void Runner::run_one(const protocol::Step &step)
{
	protocol::Event ev;
	// Only steps of the main thread run alone, so only they can be named
	// by what the kernel logged meanwhile.
	const bool watch = step.thread == 0;
	if (watch)
		kmsg_.take();
	auto t0 = std::chrono::steady_clock::now();
	const bool armed = protocol::fail_nth_arms(step.op) ||
			   (step.op == Op::retrieve && plan_.retrieve_copies);
	Outcome o = inject_ && armed ? execute_injected(step, ev)
		    : plan_.race && protocol::races_on(step.op)  ? execute_raced(step, ev)
								 : execute(step);
	auto t1 = std::chrono::steady_clock::now();
	ev.type = protocol::EventType::step;
	ev.step = step.id;
	ev.case_id = step.case_id;
	ev.op = step.op;
	ev.result = o.result;
	ev.err = protocol::errno_name(o.result);
	ev.detail = o.detail;
	ev.usec = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
	if (watch)
		ev.kernel_report = kmsg_.take();
	events_.emit(ev);
}

void Runner::run_threaded(const std::vector<const protocol::Step *> &steps)
{
	// Opened once here, so that no two threads race to be its only holder.
	device();
	std::map<std::uint32_t, std::vector<const protocol::Step *>> shares;
	for (const auto *s : steps)
		shares[s->thread].push_back(s);
	std::vector<std::thread> threads;
	std::mutex fault_mu;
	std::optional<RigFault> fault;
	std::atomic<bool> stop{false};
	for (auto &[id, share] : shares)
		threads.emplace_back([&, this] {
			try {
				for (const auto *s : share)
					if (!stop)
						run_one(*s);
			} catch (const RigFault &f) {
				stop = true;
				std::lock_guard lock(fault_mu);
				if (!fault)
					fault = f;
			}
		});
	for (auto &t : threads)
		t.join();
	if (fault)
		throw *fault;
}

} // namespace luo::guest
