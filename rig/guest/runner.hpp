// SPDX-License-Identifier: GPL-2.0-only
//
// Executes the plan's steps for the current boot, one event per step.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "boot.hpp"
#include "events.hpp"
#include "kmsg_watch.hpp"
#include "objects.hpp"
#include "racer.hpp"
#include "protocol/plan.hpp"

namespace luo::guest {

class Runner {
public:
	Runner(const protocol::Plan &plan, const BootInfo &boot, EventChannel &events);
	~Runner();

	// Runs every step of this boot.  Returns when the boot's steps are done;
	// a successful kexec step never returns.  Consecutive steps that name
	// a thread run on that many threads at once, each thread its own
	// steps in plan order; the others run on this thread alone.
	void run();

private:
	// A fault of the rig's own in the middle of a step: fail-nth could not
	// be armed or read back, or the walk could not make what it works in.
	// The step's result would then say nothing about the kernel, so the
	// boot's run stops there and the host judges the batch a setup error.
	struct RigFault {
		int err;
		std::string detail;
	};
	void emit_fatal(int err, const std::string &detail);
	void run_one(const protocol::Step &step);
	void run_threaded(const std::vector<const protocol::Step *> &steps);
	Outcome execute(const protocol::Step &step);
	// The half of a kexec step before the reboot, shared by the plain and
	// the fail-nth kexec: this kernel's end-of-boot report, then the next
	// kernel loaded.  0, or -errno with what failed in `detail`.
	int load_kexec(const protocol::Step &step, std::string &detail);
	// runner_fail_nth.cpp
	struct Walk {
		std::function<Outcome()> prepare;  // before each armed try, unarmed
		std::function<Outcome()> attempt;  // the armed call
		std::function<void()> undo;        // after a call that got over its
						   // injected failure; none: stop there
	};
	bool inject_setup();
	Outcome walk(const protocol::Step &step, protocol::Event &ev, const Walk &w);
	Outcome execute_injected(const protocol::Step &step, protocol::Event &ev);
	Outcome preserve_injected(const protocol::Step &step, protocol::Event &ev);
	Outcome kexec_injected(const protocol::Step &step);
	Outcome retrieve_injected(const protocol::Step &step, protocol::Event &ev);
	// The object whose copies the step's retrieve is walked on, or null.
	const protocol::ObjectSpec *walked_on_copies(const protocol::Step &step) const;
	void preserve_copies(const protocol::Step &step);
	// runner_race.cpp
	static std::map<std::string, std::set<std::string>> case_objects(const protocol::Plan &plan);
	std::vector<Racer::Target> race_targets(const protocol::Step &step);
	Outcome execute_raced(const protocol::Step &step, protocol::Event &ev);
	Outcome with_session(const protocol::Step &step, int &sfd);
	Outcome same_object(const protocol::Step &step);
	Outcome open_session(const std::string &name, int (*open)(int, const std::string &),
			     const char *what);
	int device();

	const protocol::Plan &plan_;
	const BootInfo &boot_;
	EventChannel &events_;
	Objects objects_;
	KmsgWatch kmsg_;
	std::mutex mu_;  // sessions_ and devfd_
	std::map<std::string, int> sessions_;
	int devfd_ = -1;
	bool inject_ = false;  // the plan's fail_nth, once its setup worked
	// Copies of each token this boot's walks retrieved: a second retrieve
	// step of the same token walks on the ones left.
	// By session and token.
	std::map<std::pair<std::string, std::uint64_t>, std::uint32_t> copies_used_;
	// Under the plan's race: each case's object names, by case id, so that
	// a raced step does not walk the whole plan to find them.
	const std::map<std::string, std::set<std::string>> case_objects_;
};

} // namespace luo::guest
