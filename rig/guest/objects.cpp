// SPDX-License-Identifier: GPL-2.0-only
//
// Names to fds, and dependencies to the fd of the object they name; the work
// itself is in obj_*.cpp.
#include "guest/objects.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <unistd.h>

#include "guest/kinds.hpp"
#include "guest/sys.hpp"

namespace luo::guest {

using protocol::ObjectKind;
using protocol::ObjectSpec;

namespace {

// The kind each dependent kind needs its dependency to be.
std::optional<ObjectKind> dependency_kind(ObjectKind k)
{
	switch (k) {
	case ObjectKind::guest_memfd:
		return ObjectKind::kvm_vm;
	case ObjectKind::vfio_cdev:
		return ObjectKind::iommufd;
	case ObjectKind::iommufd:
		return ObjectKind::memfd;
	default:
		return std::nullopt;
	}
}

// An iommufd depends on a memfd only if the scenario maps one into it.
bool dependency_optional(ObjectKind k)
{
	return k == ObjectKind::iommufd;
}

} // namespace

Objects::Objects(const protocol::Plan &plan) : plan_(plan) {}

Objects::~Objects()
{
	for (auto &[name, fd] : fds_)
		::close(fd);
	for (int fd : spare_iommufds_)
		::close(fd);
}

Outcome Objects::prepare_devices()
{
	return kind::vfio_prepare(plan_.edu_devices);
}

// The fd of spec's dependency.  Both create and verify need it, and neither
// can do its job without it: a guest_memfd check is "accepted by that VM".
Outcome Objects::dependency_fd(const ObjectSpec &spec, int &dep_fd) const
{
	auto want = dependency_kind(spec.kind);
	const std::string what = std::string(protocol::to_string(spec.kind)) + " '" +
				 spec.name + "'";

	if (spec.depends_on.empty() && dependency_optional(spec.kind)) {
		dep_fd = -1;
		return Outcome::ok();
	}
	if (spec.depends_on.empty())
		return fail(EINVAL, what + " has no dependency in the plan, but needs a " +
			    protocol::to_string(*want));
	const ObjectSpec *dep = protocol::find_object(plan_, spec.depends_on);
	if (!dep)
		return fail(EINVAL, what + " depends on '" + spec.depends_on +
			    "', which is not in the plan");
	if (dep->kind != *want)
		return fail(EINVAL, what + " depends on '" + spec.depends_on + "' of kind " +
			    protocol::to_string(dep->kind) + ", but needs a " +
			    protocol::to_string(*want));
	dep_fd = fd(spec.depends_on);
	if (dep_fd < 0)
		return fail(ENOENT, what + ": its dependency '" + spec.depends_on +
			    "' has no fd in this boot (not created, or not retrieved yet)");
	return Outcome::ok();
}

// The memfd the iommufd `iommufd_name` maps, with the fd the VMM holds for it
// (-1 if none): what a VFIO device bound to that iommufd can DMA to.
std::vector<FileMapping> file_mappings(const Mapped &mem, bool held_only)
{
	std::vector<FileMapping> out;
	for (const auto &file : mem.files)
		if (!held_only || file.fd >= 0)
			for (const auto &m : ioas_layout(mem.ioas, file.spec->size, file.slot))
				out.push_back({&file, m});
	return out;
}

Mapped Objects::mapped_by(const std::string &iommufd_name) const
{
	Mapped mem;
	const ObjectSpec *ictx = protocol::find_object(plan_, iommufd_name);
	if (ictx)
		mem.ioas = ictx->ioas;
	if (!ictx)
		return mem;
	const std::vector<std::string> names = protocol::dependencies(*ictx);
	for (unsigned slot = 0; slot < names.size(); slot++)
		if (const ObjectSpec *m = protocol::find_object(plan_, names[slot]))
			mem.files.push_back({m, fd(m->name), slot});
	return mem;
}

// The PCI address of the plan's edu device the VFIO object uses.
Outcome Objects::device_addr(const ObjectSpec &spec, std::string &addr) const
{
	if (spec.device < 0 || static_cast<size_t>(spec.device) >= plan_.edu_devices.size())
		return fail(EINVAL, "vfio-cdev '" + spec.name + "': device index " +
				    std::to_string(spec.device) + " but the plan has " +
				    std::to_string(plan_.edu_devices.size()) + " edu devices");
	addr = plan_.edu_devices[spec.device];
	return Outcome::ok();
}

Outcome Objects::create(const ObjectSpec &spec)
{
	const std::string what = std::string(protocol::to_string(spec.kind)) + " '" +
				 spec.name + "'";
	if (fd(spec.name) >= 0)
		return fail(EEXIST, "create " + what + ": the name already has " +
			    fd_str(fd(spec.name)));

	int out = -1, dep = -1;
	Outcome r;
	switch (spec.kind) {
	case ObjectKind::memfd: {
		// Sealed when an iommufd maps it and the contract wants seals.
		bool mapped = marks_hwpts() &&
			      std::any_of(plan_.objects.begin(), plan_.objects.end(), [&](const auto &o) {
				      const auto deps = protocol::dependencies(o);
				      return o.kind == ObjectKind::iommufd &&
					     std::count(deps.begin(), deps.end(), spec.name);
			      });
		r = mapped ? kind::memfd_create_sealed(spec, out) : make_copy(spec, out);
		break;
	}
	case ObjectKind::kvm_vm:
	case ObjectKind::guest_memfd:
	case ObjectKind::iommufd:
		r = make_copy(spec, out);
		break;
	case ObjectKind::vfio_cdev: {
		std::string addr;
		if (!(r = device_addr(spec, addr)))
			return r;
		r = dependency_fd(spec, dep);
		Attachment at;
		if (r)
			r = kind::vfio_create(spec, addr, dep, mapped_by(spec.depends_on), out, at,
					      marks_hwpts());
		if (r) {
			at.device = spec.name;
			remember(spec.depends_on, at);
		}
		break;
	}
	case ObjectKind::unsupported:
		r = kind::unsupported_create(spec, out);
		break;
	default:
		return fail(EINVAL, "create '" + spec.name + "': unknown object kind " +
			    std::to_string(static_cast<int>(spec.kind)));
	}
	if (r) {
		std::lock_guard lock(mu_);
		fds_[spec.name] = out;
	}
	return r;
}

Outcome Objects::make_copy(const ObjectSpec &spec, int &out)
{
	int dep = -1;
	Outcome r;
	switch (spec.kind) {
	case ObjectKind::memfd:
		// Unsealed: create() seals the one an iommufd maps when the
		// contract wants seals; a copy nobody maps needs none.
		return kind::memfd_create(spec, out);
	case ObjectKind::kvm_vm:
		return kind::kvm_vm_create(spec, out);
	case ObjectKind::guest_memfd:
		if (!(r = dependency_fd(spec, dep)))
			return r;
		return kind::guest_memfd_create(spec, dep, out);
	case ObjectKind::iommufd:
		if (!(r = dependency_fd(spec, dep)))
			return r;
		return kind::iommufd_create(spec, mapped_by(spec.name), out);
	default:
		return fail(EINVAL, std::string("no copies of a ") + protocol::to_string(spec.kind));
	}
}

void Objects::adopt(const std::string &name, int new_fd)
{
	std::lock_guard lock(mu_);
	auto it = fds_.find(name);
	if (it != fds_.end() && it->second != new_fd)
		::close(it->second);
	fds_[name] = new_fd;
	// Another context now: the HWPTs marked in the old one are not in it,
	// and a device held by this fd before is bound to nothing yet.
	marked_.erase(name);
	attached_.erase(name);
	std::erase_if(attached_, [&](const auto &e) { return e.second.first == name; });
	// The previous boot wrote the late pages, unless the contract froze
	// the file at PRESERVE_FD (then it wrote none).
	if (plan_.gmem_frozen_err.empty())
		late_.insert(name);
}

int Objects::fd(const std::string &name) const
{
	std::lock_guard lock(mu_);
	auto it = fds_.find(name);
	return it == fds_.end() ? -1 : it->second;
}

void Objects::remember(const std::string &iommufd_name, const Attachment &at)
{
	std::lock_guard lock(mu_);
	if (at.marked)
		marked_[iommufd_name].push_back(at);
	if (!at.device.empty())
		attached_[at.device] = {iommufd_name, at};
}

std::vector<Attachment> Objects::marks(const std::string &iommufd_name) const
{
	std::lock_guard lock(mu_);
	auto it = marked_.find(iommufd_name);
	return it == marked_.end() ? std::vector<Attachment>{} : it->second;
}

Objects::Probe Objects::before_preserve(const ObjectSpec &spec, const protocol::Step &step, int sfd)
{
	if (!step.probe)
		return {};
	if (spec.kind == ObjectKind::iommufd)
		return probe_unsealed(spec, sfd, step.token);
	if (spec.kind == ObjectKind::vfio_cdev && !plan_.vfio_unmarked_err.empty())
		return probe_unmarked(spec, sfd, step.token);
	return {Outcome::fail(-EINVAL, std::string("the plan asks for a probe around the PRESERVE_FD of ") +
					       protocol::to_string(spec.kind) + " '" + spec.name +
					       "', and the contract has none for it"),
		{}};
}

namespace {

// The oracle counted on a probe the VMM cannot run: the rule would go
// unchecked, so the step fails and says which side is wrong.
Objects::Probe cannot_probe(const std::string &rule, const std::string &why)
{
	return {Outcome::fail(-EPROTO, "the contract's " + rule + " probe cannot run: " + why +
					       " (the oracle and the mock VMM disagree about this "
					       "object: a rig bug, please report it)"),
		{}};
}

} // namespace

Objects::Probe Objects::probe_unsealed(const ObjectSpec &spec, int sfd, std::uint64_t token)
{
	Probe p;
	const auto hwpts = marks(spec.name);
	const int self = fd(spec.name);
	const std::string what = "iommufd '" + spec.name + "' (" + fd_str(self) + ")";
	if (hwpts.empty())
		return cannot_probe("P7", what + " has no HWPT the VMM marked");
	int err = 0;
	// The first marked HWPT is the one the kernel walks first.
	p.outcome = kind::iommufd_probe_unsealed(what, self, hwpts.front().ioas, sfd, token,
						 protocol::errno_from_name(plan_.iommufd_immutable_err),
						 err);
	if (p.outcome && err != protocol::errno_from_name(plan_.iommufd_seal_err))
		p.wrong_errno = "with a marked HWPT's IOAS also mapping a memfd sealed only after it was "
				"mapped it failed with " + std::string(std::strerror(err)) +
				", not the contract's " + plan_.iommufd_seal_err;
	return p;
}

Objects::Probe Objects::probe_unmarked(const ObjectSpec &spec, int sfd, std::uint64_t token)
{
	Probe p;
	const int self = fd(spec.name);
	const std::string dev = "vfio-cdev '" + spec.name + "' (" + fd_str(self) + ")";
	std::pair<std::string, Attachment> on;
	{
		std::lock_guard lock(mu_);
		auto it = attached_.find(spec.name);
		if (it == attached_.end())
			return cannot_probe("P8", dev + " is attached to nothing the VMM knows of");
		if (!it->second.second.marked)
			return cannot_probe("P8", dev + " is on HWPT " + std::to_string(it->second.second.hwpt) +
							  ", which the VMM did not mark");
		on = it->second;
	}
	const int ictx = fd(on.first);
	if (ictx < 0)
		return cannot_probe("P8", dev + "'s iommufd '" + on.first + "' has no open fd");
	int err = 0;
	p.outcome = kind::vfio_probe_unmarked(self, dev, ictx,
					      "iommufd '" + on.first + "' (" + fd_str(ictx) + ")",
					      on.second, sfd, token, err);
	if (p.outcome && err != protocol::errno_from_name(plan_.vfio_unmarked_err))
		p.wrong_errno = "attached to a new HWPT that is not marked it failed with " +
				std::string(std::strerror(err)) + ", not the contract's " +
				plan_.vfio_unmarked_err;
	return p;
}

Outcome Objects::preserved(const ObjectSpec &spec)
{
	if (spec.kind == ObjectKind::iommufd && marks_hwpts()) {
		const int self = fd(spec.name);
		const int want = protocol::errno_from_name(plan_.iommufd_immutable_err);
		for (const auto &h : marks(spec.name))
			if (auto r = kind::iommufd_check_immutable("iommufd '" + spec.name + "' (" +
									   fd_str(self) + ")",
								   self, h.ioas, want);
			    !r)
				return r;
		return Outcome::ok();
	}
	if (spec.kind != ObjectKind::guest_memfd)
		return Outcome::ok();
	const int self = fd(spec.name);
	if (!plan_.gmem_frozen_err.empty())
		return kind::guest_memfd_check_frozen(spec, self,
						      protocol::errno_from_name(plan_.gmem_frozen_err));
	if (auto r = kind::guest_memfd_write_late(spec, self); !r)
		return r;
	std::lock_guard lock(mu_);
	late_.insert(spec.name);
	return Outcome::ok();
}

bool Objects::late_written(const std::string &name) const
{
	std::lock_guard lock(mu_);
	return late_.count(name) != 0;
}

Outcome Objects::verify(const ObjectSpec &spec)
{
	const int self = fd(spec.name);
	if (self < 0)
		return fail(EBADF, "verify " + std::string(protocol::to_string(spec.kind)) + " '" +
			    spec.name + "': no fd in this boot (not created, or not retrieved)");
	return verify_fd(spec, self, late_written(spec.name));
}

Outcome Objects::verify_fresh(const ObjectSpec &spec)
{
	const std::string what = std::string(protocol::to_string(spec.kind)) + " like '" + spec.name + "'";
	int dep = -1, fresh = -1;
	Outcome r;
	if (dependency_kind(spec.kind) && !(r = dependency_fd(spec, dep)))
		return r;
	switch (spec.kind) {
	case ObjectKind::memfd:
		r = kind::memfd_fresh(spec, fresh);
		break;
	case ObjectKind::kvm_vm:
		r = kind::kvm_vm_fresh(fresh);
		break;
	case ObjectKind::guest_memfd:
		r = kind::guest_memfd_fresh(spec, dep, fresh);
		break;
	case ObjectKind::iommufd:
		r = kind::iommufd_fresh(fresh);
		break;
	case ObjectKind::vfio_cdev: {
		std::string addr;
		if (!(r = device_addr(spec, addr)))
			return r;
		r = kind::vfio_fresh(spec, addr, fresh);
		break;
	}
	default:
		return fail(EINVAL, "verify-fresh: a " + std::string(protocol::to_string(spec.kind)) +
				    " has no state of its own to check");
	}
	// Without a new object there is nothing to compare: say so as a
	// success, which the step does not expect, rather than pass quietly.
	if (!r)
		return {0, "could not make a new " + what + " to check: " + r.detail};
	UniqueFd hold(fresh);
	// A new object is compared with the restored state, late pages included.
	Outcome v = verify_fd(spec, fresh, true);
	if (v)
		return {0, "the checks pass on a new " + what + " (" + fd_str(fresh) +
			       ") too: they cannot tell it from the restored one"};
	// run-vcpu is a check of its own: it must tell the new one apart
	// by itself, not lean on verify's failing first.
	if (spec.kind == ObjectKind::guest_memfd) {
		Outcome g = kind::guest_memfd_run_vcpu(spec, fresh, dep, true);
		if (g)
			return {0, "the vCPU read passes on a new " + what + " (" + fd_str(fresh) +
				       ") too: it cannot tell it from the restored one"};
		v.detail += "; and so does the vCPU read: " + g.detail;
	}
	return Outcome::fail(v.result, "a new " + what + " fails the checks, as it must: " + v.detail);
}

Outcome Objects::open_device(const ObjectSpec &spec)
{
	if (spec.kind != ObjectKind::vfio_cdev)
		return fail(EINVAL, "open-device: a " + std::string(protocol::to_string(spec.kind)) +
				    " has no device node");
	std::string addr;
	if (auto r = device_addr(spec, addr); !r)
		return r;
	int raw = -1;
	if (auto r = kind::vfio_fresh(spec, addr, raw); !r)
		return r;
	UniqueFd hold(raw);
	return {0, "opened the cdev of vfio-cdev '" + spec.name + "' (PCI " + addr + ") as " +
			   fd_str(raw) + ", bound to nothing, and closed it"};
}

Outcome Objects::open_group(const ObjectSpec &spec)
{
	if (spec.kind != ObjectKind::vfio_cdev)
		return fail(EINVAL, "open-group: a " + std::string(protocol::to_string(spec.kind)) +
				    " has no VFIO group");
	std::string addr;
	if (auto r = device_addr(spec, addr); !r)
		return r;
	return kind::vfio_open_group(spec, addr);
}

Outcome Objects::bind_device(const ObjectSpec &spec)
{
	const std::string what = "bind-device: vfio-cdev '" + spec.name + "'";
	if (spec.kind != ObjectKind::vfio_cdev)
		return fail(EINVAL, "bind-device: a " + std::string(protocol::to_string(spec.kind)) +
				    " is no VFIO device");
	const int self = fd(spec.name);
	if (self < 0)
		return fail(EBADF, what + ": no fd in this boot (not retrieved)");
	int dep = -1;
	if (Outcome r = dependency_fd(spec, dep); r) {
		Attachment at;
		if (auto b = kind::vfio_bind(spec, self, dep, spec.depends_on, at, marks_hwpts()); !b)
			return b;
		at.device = spec.name;
		remember(spec.depends_on, at);
		std::string how;
		if (at.marked)
			how = " through HWPT " + std::to_string(at.hwpt) + ", marked for preservation";
		return {0, "bound to the restored iommufd '" + spec.depends_on + "' (" + fd_str(dep) + ")" +
				   how};
	}
	// The iommufd the device depended on is not retrieved: a VMM binds to
	// one it makes now, as the posted series lets it.  verify needs the
	// dependency's fd, so the device is checkable only once bound to it.
	int raw = -1;
	if (auto r = kind::iommufd_fresh(raw); !r)
		return Outcome::fail(r.result, what + ": " + r.detail);
	{
		std::lock_guard lock(mu_);
		spare_iommufds_.push_back(raw);
	}
	const std::string name = "new, for '" + spec.name + "'";
	Attachment unused;
	if (auto b = kind::vfio_bind(spec, self, raw, name, unused, marks_hwpts()); !b)
		return b;
	return {0, "'" + spec.depends_on + "' not retrieved: bound to a new iommufd (" + fd_str(raw) + ")"};
}

Outcome Objects::move_device(const ObjectSpec &spec)
{
	const std::string what = "move-device: vfio-cdev '" + spec.name + "'";
	if (spec.kind != ObjectKind::vfio_cdev)
		return fail(EINVAL, "move-device: a " + std::string(protocol::to_string(spec.kind)) +
				    " is no VFIO device");
	std::pair<std::string, Attachment> on;
	{
		std::lock_guard lock(mu_);
		auto it = attached_.find(spec.name);
		if (it == attached_.end())
			return fail(EBADF, what + ": not bound to an iommufd the VMM holds in this boot");
		on = it->second;
	}
	const int self = fd(spec.name), ictx = fd(on.first);
	if (self < 0 || ictx < 0)
		return fail(EBADF, what + ": it or its iommufd '" + on.first + "' has no fd");
	Outcome r = kind::vfio_move_unmarked(self, "vfio-cdev '" + spec.name + "' (" + fd_str(self) + ")",
					     ictx, "iommufd '" + on.first + "' (" + fd_str(ictx) + ")",
					     on.second);
	if (r) {
		std::lock_guard lock(mu_);
		attached_[spec.name] = on;
	}
	return r;
}

Outcome Objects::check_unbound(const ObjectSpec &spec)
{
	if (spec.kind != ObjectKind::vfio_cdev)
		return fail(EINVAL, "check-unbound: a " + std::string(protocol::to_string(spec.kind)) +
				    " is no VFIO device");
	const int self = fd(spec.name);
	if (self < 0)
		return fail(EBADF, "check-unbound: vfio-cdev '" + spec.name + "' has no fd in this boot");
	return kind::vfio_check_unbound(spec, self);
}

Outcome Objects::run_vcpu(const ObjectSpec &spec)
{
	if (spec.kind != ObjectKind::guest_memfd)
		return fail(EINVAL, "run-vcpu: a " + std::string(protocol::to_string(spec.kind)) +
				    " is no guest_memfd");
	const int self = fd(spec.name);
	if (self < 0)
		return fail(EBADF, "run-vcpu: guest-memfd '" + spec.name + "' has no fd in this boot");
	int vm = -1;
	if (auto r = dependency_fd(spec, vm); !r)
		return r;
	return kind::guest_memfd_run_vcpu(spec, self, vm, late_written(spec.name));
}

Outcome Objects::verify_fd(const ObjectSpec &spec, int self, bool late)
{
	int dep = -1;
	Outcome r;
	switch (spec.kind) {
	case ObjectKind::memfd:
		return kind::memfd_verify(spec, self);
	case ObjectKind::kvm_vm:
		return kind::kvm_vm_verify(spec, self);
	case ObjectKind::guest_memfd:
		if (!(r = dependency_fd(spec, dep)))
			return r;
		return kind::guest_memfd_verify(spec, self, dep, late);
	case ObjectKind::iommufd:
		if (!(r = dependency_fd(spec, dep)))
			return r;
		return kind::iommufd_verify(spec, self, mapped_by(spec.name));
	case ObjectKind::vfio_cdev:
		if (!(r = dependency_fd(spec, dep)))
			return r;
		return kind::vfio_verify(spec, self, dep, mapped_by(spec.depends_on));
	case ObjectKind::unsupported:
		return kind::unsupported_verify(spec, self);
	}
	return fail(EINVAL, "verify '" + spec.name + "': unknown object kind " +
		    std::to_string(static_cast<int>(spec.kind)));
}

int Objects::close(const std::string &name)
{
	int fd;
	{
		std::lock_guard lock(mu_);
		auto it = fds_.find(name);
		if (it == fds_.end())
			return 0;
		fd = it->second;
		fds_.erase(it);
		marked_.erase(name);
		attached_.erase(name);
	}
	// Outside the lock: this runs the file's release path, the code under
	// test, and may never return.
	return ::close(fd) ? -errno : 0;
}

} // namespace luo::guest
