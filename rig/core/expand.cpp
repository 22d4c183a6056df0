// SPDX-License-Identifier: GPL-2.0-only
//
// One case = the story of a VMM doing one live update, written step by step
// while the oracle answers each step.  The VMM reacts to answers the way a
// real one would (a refused kexec is retried after preserving what was
// missing; a FINISH that is busy is retried after retrieving what it waits
// for), so each contract gets the story that makes sense under it, and the
// guest still only executes a fixed list.
#include "expand.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "core/oracle.hpp"

namespace luo::core {

using protocol::ObjectKind;
using protocol::Op;

namespace {

// Tokens: stable per object so ids, plans and logs line up across cases.
// The faults' own tokens start here and move past any the session uses, so
// a token a file chose cannot turn EBUSY or ENOENT into EEXIST or success.
constexpr std::uint64_t kDuplicateTokenBase = 100;  // preserve-twice
constexpr std::uint64_t kUnknownToken = 999;         // retrieve-unknown

std::uint32_t fnv1a(const std::string &s)
{
	std::uint32_t h = 2166136261u;
	for (unsigned char c : s) {
		h ^= c;
		h *= 16777619u;
	}
	return h;
}

class Story {
public:
	Story(const Scenario &sc, const Contract &contract, const Order &p, const Order &r)
		: sc_(sc), p_(p), r_(r), oracle_(contract, objects(sc, case_id(sc, p, r)))
	{
		c_.id = case_id(sc, p, r);
		c_.scenario = sc.name;
		c_.contract = contract.name;
		c_.objects = objects(sc, c_.id);
		for (const auto &f : sc.faults)
			faults_[f.action].push_back(&f);
	}

	Case build();

private:
	const Scenario &sc_;
	Order p_, r_;
	Oracle oracle_;
	Case c_;
	std::map<Fault::Action, std::vector<const Fault *>> faults_;
	std::set<std::string> verified_;  // in the current boot
	std::set<std::string> reopened_;  // opened again once LUO let go
	// Devices whose group path waits for the VMM's bind (open_paths).
	std::set<std::string> group_after_bind_;
	bool crossed_ = false;            // a kexec took the case to the next kernel

	static std::vector<CaseObject> objects(const Scenario &sc, const std::string &id)
	{
		std::vector<CaseObject> out;
		for (const auto &o : sc.objects) {
			bool data = o.kind == ObjectKind::memfd || o.kind == ObjectKind::guest_memfd ||
				    o.kind == ObjectKind::kvm_vm;
			// Per-case data (and a VM's vCPU ID limit), so a file handed
			// to the wrong case in a batch shows up as wrong state.
			out.push_back({o.name, o.kind, o.depends_on, o.size,
				       data ? fnv1a(id + "/" + o.name) : 0, o.ioas, o.also_maps});
		}
		return out;
	}

	std::uint64_t token(const std::string &object) const
	{
		const ObjectDecl *d = sc_.object(object);
		return d ? d->token : 0;
	}

	// `want`, or the next value no object of `session` uses.
	std::uint64_t free_token(const std::string &session, std::uint64_t want) const
	{
		for (;; want++) {
			bool used = std::any_of(sc_.objects.begin(), sc_.objects.end(), [&](const ObjectDecl &o) {
				return o.token == want && sc_.session_of(o.name) == session;
			});
			if (!used)
				return want;
		}
	}

	bool has(Fault::Action a) const { return faults_.count(a) != 0; }

	Expect step(Op op, const std::string &session, const std::string &object, std::uint64_t token)
	{
		CaseStep s{op, session, object, token, {}};
		s.expect = oracle_.apply(s);
		c_.steps.push_back(s);
		return s.expect;
	}

	// Some fault of action `a` matches `pred`.
	template <typename Pred>
	bool any_fault(Fault::Action a, Pred pred) const
	{
		auto it = faults_.find(a);
		return it != faults_.end() && std::any_of(it->second.begin(), it->second.end(), pred);
	}

	static bool names(const Fault *f, const std::string &object)
	{
		return std::find(f->objects.begin(), f->objects.end(), object) != f->objects.end();
	}

	bool withheld(const std::string &object) const
	{
		return any_fault(Fault::Action::retry_kexec,
				 [&](const Fault *f) { return names(f, object); });
	}

	bool unwritable(const std::string &object) const
	{
		return any_fault(Fault::Action::retrieve_unwritable,
				 [&](const Fault *f) { return f->object == object; });
	}

	bool opened(const std::string &object) const
	{
		return any_fault(Fault::Action::open_device,
				 [&](const Fault *f) { return f->object == object; });
	}

	// retrieve-twice without "objects" applies to every object.
	bool retrieved_twice(const std::string &object) const
	{
		return any_fault(Fault::Action::retrieve_twice, [&](const Fault *f) {
			return f->objects.empty() || names(f, object);
		});
	}

	// Pinned objects bracket the varied ones: preserved first, retrieved last.
	Order preserve_sequence() const
	{
		Order out;
		for (const auto &o : sc_.objects)
			if (o.pinned)
				out.push_back(o.name);
		out.insert(out.end(), p_.begin(), p_.end());
		return out;
	}

	Order restore_sequence() const
	{
		Order out = r_;
		for (const auto &o : sc_.objects)
			if (o.pinned)
				out.push_back(o.name);
		return out;
	}

	void create_all();
	void preserve_phase();
	bool kexec_phase();
	void restore_phase();
	void retrieve(const std::string &object, bool in_order = false);
	void bind_ready();
	void open_paths(const std::string &object);
	void bind(const std::string &object);
	void verify_new();
	void finish_all();
	void reopen(const SessionDecl &s);
};

void Story::create_all()
{
	// Dependencies first, down the whole chain (vfio-cdev -> iommufd -> memfd).
	std::set<std::string> done;
	auto create = [&](const std::string &name, auto &self) -> void {
		if (done.count(name))
			return;
		const ObjectDecl *o = sc_.object(name);
		if (!o->depends_on.empty())
			self(o->depends_on, self);
		for (const auto &m : o->also_maps)
			self(m, self);
		done.insert(name);
		step(Op::create, "", name, 0);
	};
	for (const auto &o : sc_.objects)
		create(o.name, create);
}

void Story::preserve_phase()
{
	for (const auto &s : sc_.sessions)
		step(Op::session_create, s.name, "", 0);
	Order seq = preserve_sequence();
	for (const auto &o : seq)
		if (!withheld(o))
			step(Op::preserve, sc_.session_of(o), o, token(o));

	// Faults before the kexec, in file order.
	for (const auto &f : sc_.faults) {
		switch (f.action) {
		case Fault::Action::close_session:
			step(Op::session_close, f.session, "", 0);
			step(Op::session_create, f.session, "", 0);
			for (const auto &o : seq)
				if (sc_.session_of(o) == f.session && !withheld(o))
					step(Op::preserve, f.session, o, token(o));
			break;
		case Fault::Action::reuse_token:
			step(Op::preserve, sc_.session_of(f.object), f.object, token(f.token_of));
			break;
		case Fault::Action::preserve_twice:
			step(Op::preserve, f.session, f.object,
			     free_token(f.session, kDuplicateTokenBase + token(f.object)));
			break;
		case Fault::Action::close_object:
			// LUO took its own reference at PRESERVE_FD
			// (luo_file.c:245,281): the file must cross anyway.
			step(Op::close_object, "", f.object, 0);
			break;
		case Fault::Action::move_device:
			step(Op::move_device, "", f.object, 0);
			break;
		default:
			break;
		}
	}
}

// Returns true when the case reached the next kernel.
bool Story::kexec_phase()
{
	Expect e = step(Op::kexec, "", "", 0);
	if (e.kind != Expect::Kind::ok && has(Fault::Action::retry_kexec)) {
		for (const auto &o : preserve_sequence())
			if (withheld(o))
				step(Op::preserve, sc_.session_of(o), o, token(o));
		e = step(Op::kexec, "", "", 0);
	}
	if (e.kind == Expect::Kind::ok)
		return true;
	// Still in the first kernel with files preserved: unpreserve them (C8)
	// so this case cannot make the batch's shared kexec fail.
	for (const auto &s : sc_.sessions)
		if (oracle_.holds_outgoing(s.name))
			step(Op::session_close, s.name, "", 0);
	return false;
}

// A dependency the kernel retrieved on its dependent's behalf gave
// userspace no fd: the dependent's check waits until userspace retrieves
// it, and never happens if it does not, since without that fd it could only
// fail in the guest (Oracle::checkable).
void Story::verify_new()
{
	bind_ready();
	for (const auto &o : sc_.objects) {
		if (verified_.count(o.name) || !oracle_.checkable(o.name))
			continue;
		step(Op::verify, "", o.name, 0);
		verified_.insert(o.name);
		// What a guest reads of a restored guest_memfd, once per
		// kernel it crossed into: verify reads it through mmap only.
		if (crossed_ && o.kind == protocol::ObjectKind::guest_memfd)
			step(Op::run_vcpu, "", o.name, 0);
		if (crossed_ && any_fault(Fault::Action::verify_fresh,
					     [&](const Fault *f) { return f->object == o.name; }))
			step(Op::verify_fresh, "", o.name, 0);
	}
}

// D1 is about the device, whichever way it is opened: its cdev, and its
// VFIO group where the contract says the guard covers that path too.
//
// Not between an unbound retrieve (P3) and the VMM's bind: whether the
// group opens then is how the handler makes the retrieved file, which no
// contract rule says, so the path is tried once the bind has closed it by
// VFIO's own rule.
void Story::open_paths(const std::string &object)
{
	step(Op::open_device, "", object, 0);
	if (!oracle_.contract().vfio.open_group)
		return;
	if (oracle_.needs_bind(object))
		group_after_bind_.insert(object);
	else
		step(Op::open_group, "", object, 0);
}

void Story::bind(const std::string &object)
{
	step(Op::bind_device, "", object, 0);
	if (group_after_bind_.erase(object))
		step(Op::open_group, "", object, 0);
}

// A device handed back unbound (P3) is bound by the VMM once it holds the
// iommufd the device depended on, as a VMM restoring it would; one whose
// iommufd userspace never gets back is bound only when FINISH asks for it
// (finish_all), to a new iommufd.
void Story::bind_ready()
{
	for (const auto &o : sc_.objects)
		if (oracle_.needs_bind(o.name) && oracle_.has_fd(o.depends_on))
			bind(o.name);
}

// `in_order`: this is the object's turn in the restore order, where the
// retrieve-unwritable fault replaces the retrieve.  A VMM that then finds
// FINISH busy retrieves the object again the normal way.
void Story::retrieve(const std::string &object, bool in_order)
{
	const std::string &s = sc_.session_of(object);
	if (in_order && unwritable(object)) {
		step(Op::retrieve_unwritable, s, object, token(object));
		return;
	}
	Expect e = step(Op::retrieve, s, object, token(object));
	// P3: the device must come back unbound, which a device created and
	// bound by the VMM is not.
	if (e.kind == Expect::Kind::ok && oracle_.needs_bind(object))
		step(Op::check_unbound, "", object, 0);
	if (e.kind == Expect::Kind::ok && retrieved_twice(object))
		step(Op::same_object, s, object, token(object));
	// Once retrieved, the device is the VMM's again: D1 lets go.
	if (e.kind == Expect::Kind::ok && opened(object) && reopened_.insert(object).second)
		open_paths(object);
	verify_new();
}

// A VMM that closes a session FINISH refused, as a crashed or restarted
// one does, must find it again as it was: retrievable, each file it had
// retrieved still the same open file.
void Story::reopen(const SessionDecl &s)
{
	step(Op::session_close, s.name, "", 0);
	step(Op::session_retrieve, s.name, "", 0);
	for (const auto &o : s.objects)
		if (oracle_.has_fd(o))
			step(Op::same_object, s.name, o, token(o));
}

void Story::finish_all()
{
	for (const auto &s : sc_.sessions) {
		Expect e = step(Op::finish, s.name, "", 0);
		if (e.kind == Expect::Kind::ok || sc_.finish.on_busy == FinishSpec::OnBusy::leave)
			continue;
		auto missing = oracle_.finish_blockers(s.name);
		if (missing.empty())
			continue;
		if (sc_.finish.on_busy == FinishSpec::OnBusy::reopen)
			reopen(s);
		// P5 names the device itself, which may be retrieved and
		// still wait for the VMM to bind it.
		for (const auto &o : missing) {
			if (!oracle_.needs_bind(o))
				retrieve(o);
			if (oracle_.needs_bind(o))
				bind(o);
		}
		step(Op::finish, s.name, "", 0);
	}
	// A device FINISH dropped unretrieved is nobody's: its node opens.
	for (const auto &f : sc_.faults)
		if (f.action == Fault::Action::open_device && reopened_.insert(f.object).second)
			open_paths(f.object);
	// Objects must keep working once LUO lets go of them, and a busy FINISH
	// must have torn nothing down.  A dependent still waiting for its
	// dependency's fd is left to verify_new(), which checks it once
	// userspace retrieves the dependency.
	for (const auto &o : sc_.objects)
		if (oracle_.checkable(o.name))
			step(Op::verify, "", o.name, 0);
}

void Story::restore_phase()
{
	verified_.clear();
	for (const auto &s : sc_.sessions)
		step(Op::session_retrieve, s.name, "", 0);
	for (const auto &f : sc_.faults)
		if (f.action == Fault::Action::retrieve_unknown)
			step(Op::retrieve, f.session, "", free_token(f.session, kUnknownToken));
	// Before anything is retrieved, a preserved device is LUO's (D1).
	for (const auto &f : sc_.faults)
		if (f.action == Fault::Action::open_device)
			open_paths(f.object);

	const FinishSpec &fin = sc_.finish;
	Order seq = restore_sequence();
	auto listed = [&](std::size_t retrieved) {
		return fin.at == FinishSpec::At::after &&
		       std::find(fin.after.begin(), fin.after.end(), retrieved) != fin.after.end();
	};
	if (listed(0))
		finish_all();
	for (std::size_t i = 0; i < seq.size(); i++) {
		retrieve(seq[i], true);
		if (listed(i + 1))
			finish_all();
	}
	if (has(Fault::Action::kexec_again)) {
		// Nothing was preserved again: the unfinished incoming sessions
		// do not survive this kexec.
		step(Op::kexec, "", "", 0);
		for (const auto &s : sc_.sessions)
			step(Op::session_retrieve, s.name, "", 0);
		return;
	}
	// Positions past this case's last retrieve (a short restore order)
	// all mean "after the last one": one FINISH there, unless listed.
	// The list is increasing, so its last says whether any is past.
	bool late = fin.at == FinishSpec::At::after && !fin.after.empty() &&
		    fin.after.back() > seq.size();
	if (fin.at == FinishSpec::At::end || (late && !listed(seq.size())))
		finish_all();
}

Case Story::build()
{
	create_all();
	preserve_phase();
	if ((crossed_ = kexec_phase()))
		restore_phase();
	return std::move(c_);
}

// A retrieve-unwritable fault acts at its object's turn in the restore
// order; on an object no restore order holds it would shape no case and
// the scenario would claim a test it never makes.
void check_unwritable_restored(const Scenario &sc, const std::vector<Order> &rs)
{
	for (const auto &f : sc.faults) {
		if (f.action != Fault::Action::retrieve_unwritable || sc.object(f.object)->pinned)
			continue;
		bool restored = std::any_of(rs.begin(), rs.end(), [&](const Order &r) {
			return std::find(r.begin(), r.end(), f.object) != r.end();
		});
		if (!restored)
			sc.fail(f.pointer + "/object", "'" + f.object + "' is in no restore order, so no "
							 "case would lose its reply; restore it or drop the fault");
	}
	// verify-fresh follows the restored object's check: it needs that
	// object restored in every case, or some cases would skip it unsaid.
	for (const auto &f : sc.faults) {
		if (f.action != Fault::Action::verify_fresh || sc.object(f.object)->pinned)
			continue;
		for (const auto &r : rs)
			if (std::find(r.begin(), r.end(), f.object) == r.end())
				sc.fail(f.pointer + "/object", "'" + f.object + "' is not in every restore order, "
								 "so some cases would not check it; restore it in all");
	}
}

} // namespace

std::vector<Case> expand(const Scenario &sc, const Contract &contract)
{
	std::vector<Case> cases;
	auto rs = restore_orders(sc);
	check_unwritable_restored(sc, rs);
	for (const auto &p : preserve_orders(sc))
		for (const auto &r : rs)
			cases.push_back(Story(sc, contract, p, r).build());
	check_expectations(sc, cases);
	return cases;
}

std::vector<Case> expand_files(const std::vector<std::string> &paths, const Contract &contract)
{
	std::vector<Case> all;
	std::map<std::string, std::string> owner;  // scenario name -> file
	for (const auto &path : paths) {
		Scenario sc = load_scenario(path);
		auto [it, fresh] = owner.emplace(sc.name, path);
		if (!fresh)
			sc.fail("/name", "scenario name '" + sc.name + "' is also used by " + it->second +
						 "; case ids would collide, rename one");
		auto cases = expand(sc, contract);
		all.insert(all.end(), std::make_move_iterator(cases.begin()),
			   std::make_move_iterator(cases.end()));
	}
	return all;
}

} // namespace luo::core
