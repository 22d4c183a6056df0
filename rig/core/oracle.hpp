// SPDX-License-Identifier: GPL-2.0-only
//
// The oracle: a state-machine model of LUO plus a dependency Contract.  Fed
// one CaseStep at a time, it says what the kernel must answer and why (the
// rule), and moves its model on as if the kernel had answered that way.
//
// It models what the 7.3 LUO core does (sessions, per-session tokens, the
// global one-preservation-per-file xarray, atomic freeze, incoming sessions,
// retrieve_status, two-phase FINISH) and what the contract adds for files
// with dependencies.  It also models which fds the guest holds, because a
// step on a session or object the guest has no fd for in this boot cannot
// reach the kernel at all ("stale": any error).
//
// Rules in Expect::rule: C1..C8 (docs/design.md section 3), S1/S3 (strict's
// replacements for C1/C3), P3/P5 (the posted VFIO series' replacements for
// C3/C5: a device retrieved unbound, FINISH refused until it is retrieved and
// bound), P6-P10 (the other posted rules: frozen guest_memfd, marked HWPTs,
// the device's marked HWPT, an iommufd never restored, a device owned by its
// preserved HWPT), D1 (opening a device LUO still holds), LUO (plain 7.3 LUO behaviour outside the
// contract), setup (creating objects and sessions), stale (see above).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/case.hpp"
#include "core/contract.hpp"

namespace luo::core {

class Oracle {
public:
	Oracle(Contract contract, const std::vector<CaseObject> &objects);

	// Expectation for `step`; the model then assumes the step went so.
	Expect apply(const CaseStep &step);

	// Queries for the expander, which plays a VMM reacting to outcomes.
	int boot() const { return boot_; }
	bool has_fd(const std::string &object) const;
	// The guest can check `object`: it holds its fd and, for a dependent,
	// its dependency's (the check goes through it: gmem accepted by its VM,
	// the device attached through its iommufd).
	bool checkable(const std::string &object) const;
	bool user_retrieved(const std::string &object) const;
	bool holds_outgoing(const std::string &session) const;
	// Objects FINISH of `session` waits for (C4): dependencies of files
	// userspace retrieved that userspace has not retrieved itself.
	// Also (P5) VFIO devices not retrieved, or retrieved and not bound.
	std::vector<std::string> finish_blockers(const std::string &session) const;
	// `object` is a VFIO device userspace holds and has not bound yet (P3).
	bool needs_bind(const std::string &object) const;
	const Contract &contract() const { return contract_; }

private:
	// internal: the kernel holds the file retrieved, userspace has no fd
	// for it (retrieved for a dependent, or the reply was lost).
	enum class Got { no, internal, user };
	enum class Handle { outgoing, incoming };

	struct Obj {
		protocol::ObjectKind kind{};
		// Every dependency: an iommufd that maps several memfds has one
		// per memfd, all under the same edge's rules.
		std::vector<std::string> deps;
		// The first, or empty: the one a VM, a VFIO device or an edge
		// is named by.
		const std::string &dep() const
		{
			static const std::string none;
			return deps.empty() ? none : deps.front();
		}
		bool fd = false;           // the guest holds an fd in this boot
		std::uint64_t file = 0;    // kernel file identity in this boot, 0 = none
		// A VFIO device: bound to an iommufd, and to its dependency's
		// (not to one the VMM made while the dependency was not back).
		bool bound = true;
		bool bound_dep = true;
		// A VFIO device the VMM moved to a page table it did not mark
		// (P8); a bind or a retrieve gives it a new one.
		bool moved = false;
		// A VFIO device whose group this kernel gave back to a
		// preserved HWPT: no bind succeeds until the next reboot (P10).
		bool owned = false;
	};
	struct OutFile {
		std::uint64_t token;
		std::string object;
		std::uint64_t file;
		// A VFIO device preserved attached through a marked HWPT
		// (P10): its group comes back owned.
		bool owned = false;
	};
	struct OutSession {
		std::string name;
		std::vector<OutFile> files;
	};
	struct InFile {
		std::uint64_t token;
		std::string object;
		// The tokens of its dependencies' files in the session, as
		// many as the object has dependencies only when each crossed.
		std::vector<std::uint64_t> dep_tokens;
		Got got = Got::no;
		std::uint64_t file = 0;
		bool bound = false;  // a VFIO device userspace bound (P5)
		bool owned = false;  // OutFile::owned, across the kexec (P10)
	};
	struct InSession {
		std::string name;
		std::vector<InFile> files;
		bool retrieved = false;  // RETRIEVE_SESSION done (kernel flag)
		bool finished = false;
		bool closed_busy = false;  // closed while FINISH would fail
	};

	// A VFIO device is bound to `iommufd` in this boot (P7).
	bool has_device(const std::string &iommufd) const;
	// The VMM attached `device` through an HWPT it marked, in an iommufd
	// it holds (P8).
	bool on_marked_hwpt(const Obj &device) const;
	// The VMM attached `device` through an HWPT it marked and left it
	// there, whether or not it still holds the iommufd's fd (P10).
	bool attached_marked(const Obj &device) const;
	// `object` is an iommufd the next kernel gives nothing back of (P9).
	bool never_restored(const std::string &object) const;

	Contract contract_;
	std::map<std::string, Obj> objs_;
	std::vector<OutSession> outgoing_;   // creation order = freeze order
	std::vector<InSession> incoming_;
	std::map<std::string, Handle> handles_;
	std::set<std::uint64_t> preserved_;  // luo_file.c luo_preserved_files
	std::uint64_t next_file_ = 1;
	int boot_ = 0;

	// The rules of the edge from `object` to its dependency; only called
	// for objects that have one.
	const EdgeRules &rules_of(const std::string &object) const;

	Expect create(const CaseStep &s);
	Expect verify_fresh(const CaseStep &s);
	Expect session_create(const CaseStep &s);
	Expect session_close(const CaseStep &s);
	Expect preserve(const CaseStep &s);
	Expect kexec();
	Expect session_retrieve(const CaseStep &s);
	// The outcome of a step that needs an incoming session and has none.
	std::optional<Expect> not_incoming(const CaseStep &s);
	Expect retrieve(const CaseStep &s);
	Expect retrieve_unwritable(const CaseStep &s);
	Expect same_object(const CaseStep &s);
	Expect verify(const CaseStep &s);
	Expect finish(const CaseStep &s);
	Expect close_object(const CaseStep &s);
	Expect open_device(const CaseStep &s);
	Expect open_group(const CaseStep &s);
	// An incoming session still carries `object`'s file unretrieved (D1).
	bool held_unretrieved(const std::string &object) const;
	Expect bind_device(const CaseStep &s);
	Expect move_device(const CaseStep &s);
	Expect check_unbound(const CaseStep &s);
	// The device comes back unbound (P3): the VFIO kind under a contract
	// that says so.
	bool unbound_kind(const std::string &object) const;

	OutSession *out(const std::string &name);
	InSession *in(const std::string &name);
	const InSession *in(const std::string &name) const;
	std::optional<std::string> freeze_failure() const;
	// The file RETRIEVE_FD of `s` names, or the answer when there is none.
	std::optional<Expect> lookup(const CaseStep &s, InFile *&f);
	// The kernel side of a first RETRIEVE_FD (the handler's .retrieve(),
	// which may retrieve the dependency): the failure, if any.
	std::optional<Expect> restore_file(InSession &is, InFile &f);
	// Objects FINISH of `s` waits for; none = it can finish.
	// One can_finish() that objects, in the order the kernel asks them: the
	// file whose handler says no, what it waits for (its dependency, or
	// itself under P5), and the answer.
	struct Block {
		const InFile *file;
		const InFile *waits_for;
		std::string err;
		const char *rule;
	};
	std::vector<Block> blocking(const InSession &s) const;
	std::vector<std::string> blockers(const InSession &s) const;
	bool can_finish(const InSession &s) const;
	void do_finish(InSession &s);
	void bind(const std::string &object, std::uint64_t file, bool fd);
};

} // namespace luo::core
