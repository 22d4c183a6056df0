// SPDX-License-Identifier: GPL-2.0-only
//
// Source references are to linux-source-7.3 (7.3.4), kernel/liveupdate/.
#include "oracle.hpp"

#include <optional>

#include <algorithm>

namespace luo::core {

using protocol::ObjectKind;
using protocol::Op;

namespace {

Expect ok(const char *rule)
{
	return {Expect::Kind::ok, "", rule};
}

Expect error(std::string err, const char *rule)
{
	return {Expect::Kind::error, std::move(err), rule};
}

// The guest has no fd to pass, so the kernel is never asked: the guest
// reports its own failure and its errno means nothing.
Expect stale()
{
	return {Expect::Kind::any_error, "", "stale"};
}

} // namespace

Oracle::Oracle(Contract contract, const std::vector<CaseObject> &objects)
	: contract_(std::move(contract))
{
	for (const auto &o : objects) {
		Obj &obj = objs_[o.name];
		obj.kind = o.kind;
		if (!o.depends_on.empty())
			obj.deps.push_back(o.depends_on);
		obj.deps.insert(obj.deps.end(), o.also_maps.begin(), o.also_maps.end());
	}
}

const EdgeRules &Oracle::rules_of(const std::string &object) const
{
	const Obj &o = objs_.at(object);
	return contract_.edge(o.kind, objs_.at(o.dep()).kind);
}

bool Oracle::has_fd(const std::string &object) const
{
	auto it = objs_.find(object);
	return it != objs_.end() && it->second.fd;
}

bool Oracle::user_retrieved(const std::string &object) const
{
	for (const auto &s : incoming_)
		for (const auto &f : s.files)
			if (f.object == object && f.got == Got::user)
				return true;
	return false;
}

bool Oracle::holds_outgoing(const std::string &session) const
{
	auto it = handles_.find(session);
	return it != handles_.end() && it->second == Handle::outgoing;
}

Oracle::OutSession *Oracle::out(const std::string &name)
{
	for (auto &s : outgoing_)
		if (s.name == name)
			return &s;
	return nullptr;
}

Oracle::InSession *Oracle::in(const std::string &name)
{
	for (auto &s : incoming_)
		if (s.name == name)
			return &s;
	return nullptr;
}

const Oracle::InSession *Oracle::in(const std::string &name) const
{
	for (const auto &s : incoming_)
		if (s.name == name)
			return &s;
	return nullptr;
}

void Oracle::bind(const std::string &object, std::uint64_t file, bool fd)
{
	auto &o = objs_[object];
	o.file = file;
	o.fd = o.fd || fd;
}

Expect Oracle::apply(const CaseStep &s)
{
	switch (s.op) {
	case Op::create: return create(s);
	case Op::session_create: return session_create(s);
	case Op::session_close: return session_close(s);
	case Op::preserve: return preserve(s);
	case Op::kexec: return kexec();
	case Op::session_retrieve: return session_retrieve(s);
	case Op::retrieve: return retrieve(s);
	case Op::retrieve_unwritable: return retrieve_unwritable(s);
	case Op::same_object: return same_object(s);
	case Op::verify: return verify(s);
	case Op::finish: return finish(s);
	case Op::close_object: return close_object(s);
	case Op::verify_fresh: return verify_fresh(s);
	case Op::open_device: return open_device(s);
	case Op::open_group: return open_group(s);
	case Op::bind_device: return bind_device(s);
	case Op::check_unbound: return check_unbound(s);
	case Op::run_vcpu: return verify(s); // C3, through the guest fault path
	case Op::move_device: return move_device(s);
	}
	return stale();
}

Expect Oracle::create(const CaseStep &s)
{
	auto it = objs_.find(s.object);
	if (it == objs_.end())
		return stale();
	// KVM_CREATE_GUEST_MEMFD, the VFIO bind and the IOAS maps need their
	// dependencies' fds.
	for (const auto &d : it->second.deps)
		if (!has_fd(d))
			return stale();
	it->second.fd = true;
	it->second.file = next_file_++;
	it->second.bound = it->second.bound_dep = true;
	it->second.moved = false;
	return ok("setup");
}

Expect Oracle::close_object(const CaseStep &s)
{
	auto it = objs_.find(s.object);
	if (it == objs_.end() || !it->second.fd)
		return stale();
	// LUO keeps its own reference, so the file (it->second.file) lives on.
	it->second.fd = false;
	return ok("setup");
}

// D1: a session of this boot still carries the device's file, neither
// retrieved (by userspace or for a dependent) nor dropped by FINISH, which
// empties the list.  A session userspace never retrieved, or closed with
// FINISH refused, holds it as long as the kernel runs.
bool Oracle::held_unretrieved(const std::string &object) const
{
	for (const auto &is : incoming_)
		for (const auto &f : is.files)
			if (f.object == object && f.got == Got::no)
				return true;
	return false;
}

Expect Oracle::open_device(const CaseStep &s)
{
	auto it = objs_.find(s.object);
	if (it == objs_.end() || it->second.kind != ObjectKind::vfio_cdev)
		return stale();
	if (held_unretrieved(s.object)) {
		const DeviceRules &d = contract_.vfio_cdev;
		return d.open_needs_retrieve ? error(d.open_err, "D1") : ok("D1");
	}
	// Nothing holds the device: opening its cdev again is plain VFIO, bound
	// to nothing, whoever else has it open.
	return ok("LUO");
}

Expect Oracle::open_group(const CaseStep &s)
{
	auto it = objs_.find(s.object);
	if (it == objs_.end() || it->second.kind != ObjectKind::vfio_cdev)
		return stale();
	if (held_unretrieved(s.object)) {
		const DeviceRules &d = contract_.vfio_cdev;
		return contract_.vfio.open_group && d.open_needs_retrieve ? error(d.open_err, "D1")
									   : ok("D1");
	}
	// VFIO's own rule, LUO or not: a device bound through a cdev file (the
	// VMM's fd, or a file LUO holds for the next kernel) keeps its group
	// closed; the bind, not the open, counts (vfio_device_block_group(),
	// cdev_device_open_cnt).  A device handed back unbound (P3) is not
	// asked before its bind (Story::open_paths): how the handler opened
	// the retrieved file would decide, not a rule.
	const Obj &o = it->second;
	if ((o.fd || (o.file && preserved_.count(o.file))) && o.bound)
		return error("EBUSY", "LUO");
	// P10: the group path binds the device to the iommufd given as its
	// container, and that claim fails as VFIO_DEVICE_BIND_IOMMUFD does.
	if (o.owned)
		return error(contract_.vfio.bind_err, "P10");
	return ok("LUO");
}

bool Oracle::unbound_kind(const std::string &object) const
{
	auto it = objs_.find(object);
	return it != objs_.end() && it->second.kind == ObjectKind::vfio_cdev &&
	       contract_.vfio.retrieve_unbound;
}

bool Oracle::needs_bind(const std::string &object) const
{
	auto it = objs_.find(object);
	return it != objs_.end() && it->second.kind == ObjectKind::vfio_cdev && it->second.fd &&
	       !it->second.bound;
}

Expect Oracle::bind_device(const CaseStep &s)
{
	auto it = objs_.find(s.object);
	if (it == objs_.end() || it->second.kind != ObjectKind::vfio_cdev || !it->second.fd)
		return stale();
	Obj &o = it->second;
	// vfio_df_ioctl_bind_iommufd(): one bind per open file, EINVAL after.
	if (o.bound)
		return error("EINVAL", "P3");
	// P10: iommufd_device_bind() cannot claim a group a preserved HWPT
	// owns, whichever iommufd asks.
	if (o.owned)
		return error(contract_.vfio.bind_err, "P10");
	o.bound = true;
	o.bound_dep = has_fd(o.dep());
	o.moved = false;
	for (auto &is : incoming_)
		for (auto &f : is.files)
			if (f.object == s.object && f.got == Got::user)
				f.bound = true;
	return ok("P3");
}

Expect Oracle::move_device(const CaseStep &s)
{
	auto it = objs_.find(s.object);
	if (it == objs_.end() || it->second.kind != ObjectKind::vfio_cdev || !it->second.fd)
		return stale();
	Obj &o = it->second;
	// The VMM needs the iommufd it bound the device to, to make the new
	// page table in.
	if (!o.bound || !o.bound_dep || !has_fd(o.dep()))
		return stale();
	// Plain VFIO and iommufd: a bound device may change page tables,
	// preserved or not.  What a preserve then says is P8's.
	o.moved = true;
	return ok("LUO");
}

Expect Oracle::check_unbound(const CaseStep &s)
{
	auto it = objs_.find(s.object);
	if (it == objs_.end() || it->second.kind != ObjectKind::vfio_cdev || !it->second.fd)
		return stale();
	// The guest's own errno for a device it finds bound.
	return it->second.bound ? error("EISCONN", "P3") : ok("P3");
}

Expect Oracle::session_create(const CaseStep &s)
{
	// luo_session.c:195-197: names are unique among outgoing sessions only.
	if (out(s.session))
		return error("EEXIST", "LUO");
	outgoing_.push_back({s.session, {}});
	handles_[s.session] = Handle::outgoing;
	return ok("setup");
}

Expect Oracle::session_close(const CaseStep &s)
{
	auto h = handles_.find(s.session);
	if (h == handles_.end())
		return stale();
	if (h->second == Handle::outgoing) {
		// C8, luo_session.c:251-254 -> luo_file_unpreserve_files(): every
		// file leaves the global xarray and can be preserved again.
		auto it = std::find_if(outgoing_.begin(), outgoing_.end(),
				       [&](const OutSession &o) { return o.name == s.session; });
		for (const auto &f : it->files)
			preserved_.erase(f.file);
		outgoing_.erase(it);
		handles_.erase(h);
		return ok("C8");
	}
	// Closing a retrieved incoming session finishes it (luo_session.c:242-
	// 250).  If FINISH would fail, close(2) still returns 0 and, by C4,
	// nothing is torn down: the session stays LUO's, to be retrieved
	// again and finished once the VMM has what FINISH waits for.  A
	// session that could never be retrieved again would strand every
	// file in it until the next reboot.
	handles_.erase(h);
	InSession *in_s = in(s.session);
	if (!in_s)
		return ok("C4");
	if (!in_s->finished && !can_finish(*in_s)) {
		in_s->retrieved = false;
		in_s->closed_busy = true;
		return ok("C4");
	}
	// Finished, it leaves LUO (luo_session.c:256-257): retrieving it
	// again finds nothing.
	if (!in_s->finished)
		do_finish(*in_s);
	incoming_.erase(incoming_.begin() + (in_s - incoming_.data()));
	return ok("C4");
}

Expect Oracle::preserve(const CaseStep &s)
{
	auto h = handles_.find(s.session);
	auto o = objs_.find(s.object);
	if (h == handles_.end() || o == objs_.end() || !o->second.fd)
		return stale();
	// luo_session.c:379-380,428-429: PRESERVE_FD is for outgoing sessions.
	if (h->second != Handle::outgoing)
		return error("EINVAL", "LUO");
	OutSession &os = *out(s.session);
	// luo_file.c:238-239, checked before anything else.
	for (const auto &f : os.files)
		if (f.token == s.token)
			return error("EEXIST", "C7");
	// luo_file.c:251-264: no handler's can_preserve() accepts it.
	if (o->second.kind == ObjectKind::unsupported)
		return error("ENOENT", "C7");
	// luo_file.c:266-269: xa_insert() into the global xarray, -EBUSY when
	// the file is already there (preserved in any session, or retrieved
	// and not yet finished: luo_file.c:602).
	if (preserved_.count(o->second.file))
		return error("EBUSY", "C7");
	// P8: a device on a page table that is not a marked HWPT is refused
	// before its iommufd is looked up.
	if (o->second.kind == ObjectKind::vfio_cdev && contract_.vfio.preserve_needs_marked_hwpt &&
	    o->second.moved)
		return error(contract_.vfio.unmarked_err, "P8");
	bool strict = !o->second.deps.empty() && rules_of(s.object).preserve_needs_dependency;
	if (strict)
		for (const auto &dep : o->second.deps) {
			std::uint64_t dep_file = objs_[dep].file;
			bool found = std::any_of(os.files.begin(), os.files.end(),
						 [&](const OutFile &f) { return f.file == dep_file; });
			if (!found)
				return error(rules_of(s.object).preserve_dependency_err, "S1");
		}
	os.files.push_back({s.token, s.object, o->second.file});
	preserved_.insert(o->second.file);
	// P10: the device crosses on the marked HWPT the VMM attached it
	// through, fd of its iommufd or not; a moved one is refused above.
	if (o->second.kind == ObjectKind::vfio_cdev && contract_.vfio.bind_refused_after_marked &&
	    attached_marked(o->second))
		os.files.back().owned = true;
	// P7: the VMM marks an HWPT for each device bound to the iommufd, and
	// its checks of sealing and immutability are part of this step.
	if (o->second.kind == ObjectKind::iommufd && contract_.iommufd.preserve_marked_hwpts &&
	    has_device(s.object))
		return ok("P7");
	// P8: the VMM tries the device on an unmarked HWPT first, when it
	// holds one it attached through a marked HWPT and its iommufd's fd.
	if (o->second.kind == ObjectKind::vfio_cdev && contract_.vfio.preserve_needs_marked_hwpt &&
	    on_marked_hwpt(o->second))
		return ok("P8");
	if (strict)
		return ok("S1");
	// P6: the VMM's check of the freeze is part of this step's outcome.
	if (o->second.kind == ObjectKind::guest_memfd && contract_.guest_memfd.preserve_freezes)
		return ok("P6");
	return ok("C1");
}

bool Oracle::attached_marked(const Obj &device) const
{
	return device.bound && device.bound_dep && !device.moved;
}

bool Oracle::on_marked_hwpt(const Obj &device) const
{
	auto dep = objs_.find(device.dep());
	return attached_marked(device) && dep != objs_.end() && dep->second.fd;
}

bool Oracle::never_restored(const std::string &object) const
{
	return objs_.at(object).kind == ObjectKind::iommufd && contract_.iommufd.restores_nothing;
}

bool Oracle::has_device(const std::string &iommufd) const
{
	// Bound in this boot to this very iommufd: the VMM marks the HWPT it
	// attaches the device through when it binds it.
	return std::any_of(objs_.begin(), objs_.end(), [&](const auto &o) {
		const Obj &d = o.second;
		return d.kind == ObjectKind::vfio_cdev && d.dep() == iommufd && d.fd && d.bound &&
		       d.bound_dep;
	});
}

std::optional<std::string> Oracle::freeze_failure() const
{
	// luo_session.c:650-663 then luo_file.c:467-481: sessions in creation
	// order, files in preservation order, first failure aborts and unfreezes.
	for (const auto &os : outgoing_)
		for (const auto &f : os.files) {
			const auto &deps = objs_.at(f.object).deps;
			if (deps.empty() || !rules_of(f.object).freeze_needs_dependency)
				continue;
			for (const auto &dep : deps) {
				std::uint64_t dep_file = objs_.at(dep).file;
				bool found = std::any_of(os.files.begin(), os.files.end(),
							 [&](const OutFile &g) { return g.file == dep_file; });
				if (!found)
					return rules_of(f.object).freeze_dependency_err;
			}
		}
	return std::nullopt;
}

Expect Oracle::kexec()
{
	if (auto err = freeze_failure())
		return error(*err, "C2");

	// Only outgoing sessions are serialized (luo_session.c:637-666);
	// incoming ones of this boot, finished or not, do not survive.
	std::vector<InSession> next;
	for (const auto &os : outgoing_) {
		InSession is{os.name, {}, false, false};
		for (const auto &f : os.files) {
			InFile in_f{f.token, f.object, {}, Got::no, 0};
			in_f.owned = f.owned;
			for (const auto &dep : objs_.at(f.object).deps) {
				std::uint64_t dep_file = objs_.at(dep).file;
				for (const auto &g : os.files)
					if (g.file == dep_file)
						in_f.dep_tokens.push_back(g.token);
			}
			is.files.push_back(in_f);
		}
		next.push_back(std::move(is));
	}
	incoming_ = std::move(next);
	outgoing_.clear();
	handles_.clear();
	preserved_.clear();
	for (auto &[name, o] : objs_) {
		o.fd = false;
		o.file = 0;
		o.owned = false;
	}
	// P10: the IOMMU core hands the device's group to its preserved HWPT
	// at boot, retrieved or not.
	for (const auto &is : incoming_)
		for (const auto &f : is.files)
			if (f.owned)
				objs_.at(f.object).owned = true;
	boot_++;
	return ok("C2");
}

Expect Oracle::session_retrieve(const CaseStep &s)
{
	InSession *is = in(s.session);
	// luo_session.c:518-519
	if (!is)
		return error("ENOENT", "LUO");
	// luo_session.c:522-523
	if (is->retrieved)
		return error("EINVAL", "LUO");
	is->retrieved = true;
	handles_[s.session] = Handle::incoming;
	// Retrieving it again after a busy close is C4's "nothing is torn down".
	return ok(is->closed_busy ? "C4" : "LUO");
}

std::optional<Expect> Oracle::not_incoming(const CaseStep &s)
{
	auto h = handles_.find(s.session);
	if (h == handles_.end())
		return stale();
	// luo_session.c:377-382,428-429: RETRIEVE_FD and FINISH are for
	// incoming sessions only.
	if (h->second != Handle::incoming)
		return error("EINVAL", "LUO");
	return std::nullopt;
}

std::optional<Expect> Oracle::lookup(const CaseStep &s, InFile *&f)
{
	if (auto refused = not_incoming(s))
		return refused;
	InSession &is = *in(s.session);
	// luo_file.c:560-561: FINISH emptied the list; C5 discarded the rest.
	if (is.finished)
		return error("ENOENT", "C5");
	auto it = std::find_if(is.files.begin(), is.files.end(),
			       [&](const InFile &x) { return x.token == s.token; });
	// luo_file.c:563-571
	if (it == is.files.end())
		return error("ENOENT", "C7");
	f = &*it;
	return std::nullopt;
}

std::optional<Expect> Oracle::restore_file(InSession &is, InFile &f)
{
	// P9: the handler restores no iommufd and asks nothing of its
	// dependencies first.
	if (never_restored(f.object))
		return error(contract_.iommufd.retrieve_err, "P9");
	// Only a contract without C2's freeze check lets a dependent cross
	// alone; what its handler then does is not specified.
	if (f.dep_tokens.size() != objs_.at(f.object).deps.size())
		return Expect{Expect::Kind::any_error, "", "C3"};
	std::vector<InFile *> deps;
	for (std::uint64_t t : f.dep_tokens) {
		auto dep = std::find_if(is.files.begin(), is.files.end(),
					[&](const InFile &x) { return x.token == t; });
		if (dep != is.files.end())
			deps.push_back(&*dep);
	}
	for (InFile *dep : deps)
		if (rules_of(f.object).retrieve_needs_dependency && dep->got != Got::user)
			return error(rules_of(f.object).retrieve_dependency_err, "S3");
	// P3: a device handed back unbound leaves its dependency alone.
	for (InFile *dep : deps) {
		if (dep->got != Got::no || unbound_kind(f.object))
			continue;
		if (!rules_of(f.object).retrieve_binds_dependency)
			return Expect{Expect::Kind::any_error, "", "C3"};
		// C3: liveupdate_get_file_incoming() from the dependent's
		// .retrieve() runs luo_retrieve_file() for the dependency, whose
		// own .retrieve() may go on down the chain; its failure is the
		// dependent's.  Several dependencies (an iommufd's memfds) are
		// retrieved in turn, and those done stay retrieved.
		if (auto failed = restore_file(is, *dep))
			return failed;
		dep->got = Got::internal;
		bind(dep->object, dep->file, false);
	}
	f.file = next_file_++;
	// luo_file.c:602-604: retrieved files re-enter the global xarray.
	preserved_.insert(f.file);
	return std::nullopt;
}

Expect Oracle::retrieve(const CaseStep &s)
{
	InFile *f = nullptr;
	if (auto e = lookup(s, f))
		return *e;
	const char *rule;
	if (f->got != Got::no) {
		// luo_file.c:579-587: already retrieved (by userspace, internally
		// by a dependent's handler, or with a reply that never arrived):
		// the same struct file again.
		rule = f->got == Got::user ? "C6" : "C3";
	} else {
		if (auto failed = restore_file(*in(s.session), *f))
			return *failed;
		rule = !f->dep_tokens.empty() && rules_of(f->object).retrieve_needs_dependency ? "S3"
												 : "C3";
	}
	// Now userspace holds it.
	f->got = Got::user;
	if (!s.object.empty()) {
		bind(s.object, f->file, true);
		// P3: bound only once userspace binds it; the same file
		// retrieved again stays as userspace left it.  Otherwise the
		// kernel bound it to its restored dependency (C3).
		Obj &o = objs_[s.object];
		o.moved = false;
		if (!unbound_kind(s.object)) {
			o.bound = o.bound_dep = true;
		} else if (!f->bound) {
			o.bound = o.bound_dep = false;
			rule = "P3";
		}
	}
	return ok(rule);
}

Expect Oracle::retrieve_unwritable(const CaseStep &s)
{
	InFile *f = nullptr;
	if (auto e = lookup(s, f))
		return *e;
	// The file is retrieved inside the kernel exactly as by RETRIEVE_FD
	// (S3 and C3 included); only copying the reply out fails, so the fd is
	// never installed and userspace did not retrieve it: for C4 it counts
	// no more than a dependency the kernel retrieved for a dependent.  A
	// file userspace already holds stays held.
	if (f->got == Got::no) {
		if (auto failed = restore_file(*in(s.session), *f))
			return *failed;
		f->got = Got::internal;
		bind(f->object, f->file, false);
	}
	// luo_session.c: the reply is copied out before fd_install(); its
	// failure puts the unused fd back and keeps the file retrieved.
	return error("EFAULT", "LUO");
}

Expect Oracle::same_object(const CaseStep &s)
{
	// Without a first successful retrieve there is nothing to compare
	// with, and the step is just another retrieve.
	return retrieve(s);
}

bool Oracle::checkable(const std::string &object) const
{
	auto it = objs_.find(object);
	if (it == objs_.end() || !it->second.fd)
		return false;
	// A device is checked through its dependency's fd, so it must be bound
	// to that iommufd, not to one the VMM made in its absence.
	if (it->second.kind == ObjectKind::vfio_cdev && !(it->second.bound && it->second.bound_dep))
		return false;
	return std::all_of(it->second.deps.begin(), it->second.deps.end(),
			   [&](const std::string &d) { return has_fd(d); });
}

Expect Oracle::verify(const CaseStep &s)
{
	if (!checkable(s.object))
		return stale();
	return ok(boot_ == 0 ? "setup" : "C3");
}

Expect Oracle::verify_fresh(const CaseStep &s)
{
	if (!checkable(s.object))
		return stale();
	// Not the kernel's answer but the rig's own: verify must tell a new
	// object from the restored one.  Which check fails is not specified.
	return {Expect::Kind::any_error, "", "fresh"};
}

std::vector<Oracle::Block> Oracle::blocking(const InSession &s) const
{
	std::vector<Block> out;
	const VfioRules &v = contract_.vfio;
	// luo_file.c:689-693: every file's can_finish() before any finish(),
	// each told only whether its file was retrieved: one the kernel
	// retrieved for its own dependent (an iommufd for its VFIO device)
	// holds FINISH for its own dependency just the same.
	for (const auto &f : s.files) {
		// P9: an iommufd that is never restored never finishes either.
		if (never_restored(f.object)) {
			out.push_back({&f, &f, contract_.iommufd.finish_err, "P9"});
			continue;
		}
		// P5: the posted handler's can_finish() asks about the device
		// alone: retrieved (any way, retrieve_status > 0) and, later
		// versions, bound by userspace.
		if (objs_.at(f.object).kind == ObjectKind::vfio_cdev && v.finish_refuses_unretrieved) {
			if (f.got == Got::no || (v.finish_until_bound && !f.bound))
				out.push_back({&f, &f, v.finish_err, "P5"});
			continue;
		}
		// A device handed back unbound never used its restored
		// dependency: C4 has nothing to hold for it (P3).
		if (unbound_kind(f.object))
			continue;
		if (f.got == Got::no || f.dep_tokens.empty() ||
		    !rules_of(f.object).finish_needs_user_dependency)
			continue;
		for (std::uint64_t t : f.dep_tokens)
			for (const auto &g : s.files)
				if (g.token == t && g.got != Got::user)
					out.push_back({&f, &g, rules_of(f.object).finish_dependency_err, "C4"});
	}
	return out;
}

std::vector<std::string> Oracle::blockers(const InSession &s) const
{
	std::vector<std::string> out;
	for (const auto &b : blocking(s))
		if (std::find(out.begin(), out.end(), b.waits_for->object) == out.end())
			out.push_back(b.waits_for->object);
	return out;
}

bool Oracle::can_finish(const InSession &s) const
{
	return blockers(s).empty();
}

std::vector<std::string> Oracle::finish_blockers(const std::string &session) const
{
	const InSession *s = in(session);
	return s ? blockers(*s) : std::vector<std::string>{};
}

void Oracle::do_finish(InSession &s)
{
	// luo_file.c:695-712: retrieved files leave the xarray; files never
	// retrieved are dropped (C5).
	for (const auto &f : s.files)
		if (f.got != Got::no)
			preserved_.erase(f.file);
	s.files.clear();
	s.finished = true;
}

Expect Oracle::finish(const CaseStep &s)
{
	if (auto refused = not_incoming(s))
		return *refused;
	InSession &is = *in(s.session);
	// luo_file.c:686-687: an emptied file set finishes again trivially.
	if (is.finished)
		return ok("LUO");
	// The first can_finish() to object answers, with its edge's errno.
	if (auto b = blocking(is); !b.empty())
		return error(b.front().err, b.front().rule);
	bool discards = std::any_of(is.files.begin(), is.files.end(),
				    [](const InFile &f) { return f.got == Got::no; });
	do_finish(is);
	return ok(discards ? "C5" : "C4");
}

} // namespace luo::core
