// SPDX-License-Identifier: GPL-2.0-only
//
// The real kernel objects the mock VMM preserves, and the checks that prove a
// restored one works.  Every failure is returned as an Outcome, never thrown:
// PID 1 must survive whatever the kernel under test does.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "guest/ioas_layout.hpp"
#include "protocol/plan.hpp"

namespace luo::guest {

struct Outcome {
	int result = 0;      // 0 or -errno
	std::string detail;  // what was tried and what went wrong

	static Outcome ok() { return {}; }
	static Outcome fail(int neg_errno, std::string what) { return {neg_errno, std::move(what)}; }
	explicit operator bool() const { return result == 0; }
};

// One memfd an iommufd maps into its IOAS, in the IOVA slot of its place
// among the iommufd's dependencies (guest/ioas_layout.hpp).
struct MappedFile {
	const protocol::ObjectSpec *spec = nullptr;
	int fd = -1;  // -1: the VMM does not hold it
	unsigned slot = 0;
};

// The memfds an iommufd maps (none, one, or several), and how many IOAS
// it has.
struct Mapped {
	std::vector<MappedFile> files;
	unsigned ioas = 1;
};

// One range of a memfd in one IOAS, as ioas_layout() places it.
struct FileMapping {
	const MappedFile *file;
	IoasMapping at;
};

// Every mapping of every memfd, file by file and IOAS by IOAS; with
// `held_only`, only those of the memfds the VMM holds.
std::vector<FileMapping> file_mappings(const Mapped &mem, bool held_only);

// What a bound VFIO device is attached to: an IOAS, directly or through an
// HWPT, which the VMM may have marked for preservation
// (guest/iommufd_hwpt.cpp); the device's id in the iommufd and its object's
// name.
struct Attachment {
	unsigned ioas = 0;
	unsigned hwpt = 0;  // 0: the IOAS itself (the kernel's own HWPT)
	unsigned devid = 0;
	std::string device;
	bool marked = false;
};

// Safe from several threads as long as each object is used by one thread
// at a time (the planner gives a case's steps to one thread): only the map
// from names to fds is shared.
class Objects {
public:
	explicit Objects(const protocol::Plan &plan);
	~Objects();
	Objects(const Objects &) = delete;
	Objects &operator=(const Objects &) = delete;

	// Bind the plan's edu devices to vfio-pci; needed in every boot before a
	// VFIO cdev is opened or retrieved.
	Outcome prepare_devices();

	// Boot 0: create the object and remember its fd under its name.  The
	// dependency must have been created first.
	Outcome create(const protocol::ObjectSpec &spec);

	// A new object of spec's kind, size, pattern and dependency (which
	// must be open), its fd in `out`, remembered under no name: what
	// create() makes of every kind protocol::retrieve_copyable() allows,
	// and the copies a retrieve's error paths are walked on
	// (Plan::retrieve_copies).
	Outcome make_copy(const protocol::ObjectSpec &spec, int &out);

	// Remember an fd that RETRIEVE_FD returned for `name` (takes ownership).
	// An fd already bound to `name` is closed, unless it is the same number.
	void adopt(const std::string &name, int fd);

	// The fd bound to `name`, or -1.
	int fd(const std::string &name) const;
	// The memfds the iommufd `iommufd_name` maps, with the fds the VMM
	// holds of them now.
	Mapped mapped_by(const std::string &iommufd_name) const;

	// Prove the object bound to `name` works: contents match the pattern,
	// a guest_memfd is accepted by its VM and refused by an unrelated one, a
	// VFIO device is bound to its iommufd, and so on.  Works on fresh and on
	// retrieved objects alike.  Needs the dependency's fd too (a guest_memfd
	// is checked against its VM): -ENOENT if the dependency has none yet.
	Outcome verify(const protocol::ObjectSpec &spec);

	// Close the fd bound to `name`: 0 or -errno of close(2); 0 when none
	// is bound (never created or retrieved in this kernel, or closed).
	int close(const std::string &name);

	// verify's checks on a new object of spec's kind, made now by the
	// kernel without anything the VMM set (a memfd of the same size, a
	// guest_memfd of the same VM, an unbound open of the same device): they
	// must fail, or they prove nothing about the restored one.  Returns
	// their failure; success (result 0) means they have no teeth.
	Outcome verify_fresh(const protocol::ObjectSpec &spec);

	// Open the device node of a vfio-cdev object once more and close it
	// again, bound to nothing: whether the kernel lets userspace at a device
	// while LUO holds it (D1).  The fd bound to the name is not touched.
	Outcome open_device(const protocol::ObjectSpec &spec);

	// Bind the retrieved, unbound vfio-cdev `name` holds to an iommufd and
	// attach it there: to its dependency's restored fd when this boot holds
	// one, else to a new iommufd kept open until the guest exits.  The
	// outcome's detail says which.
	Outcome bind_device(const protocol::ObjectSpec &spec);
	// The same through the device's VFIO group (VFIO_GROUP_GET_DEVICE_FD),
	// the path D1 must guard as well as the cdev.
	Outcome open_group(const protocol::ObjectSpec &spec);
	// Attach the vfio-cdev to a new HWPT of its IOAS that the VMM does not
	// mark (a VMM that changes page tables after the preserve, P8).
	Outcome move_device(const protocol::ObjectSpec &spec);
	// Success if the vfio-cdev `name` holds is bound to no iommufd.
	Outcome check_unbound(const protocol::ObjectSpec &spec);
	// A guest_memfd read by a new vCPU of its VM, page by page, through
	// the guest's page tables: what the guest sees, not what mmap does.
	Outcome run_vcpu(const protocol::ObjectSpec &spec);

	// After a successful PRESERVE_FD: what the VMM does to the object
	// between preserving it and the kexec (a guest_memfd gets its late
	// pages), so that the handler must take the state at freeze; or, when
	// the contract freezes a preserved guest_memfd, checks that it did.
	Outcome preserved(const protocol::ObjectSpec &spec);

	// Right before PRESERVE_FD of `spec` as `token` in session `sfd`, when
	// the plan's step asks for it (protocol::Step::probe, the oracle's P7
	// or P8; guest/iommufd_hwpt.cpp): for an iommufd, the seal probe; for
	// a VFIO device, the same call on an unmarked HWPT.  outcome fails
	// when the probe could not run (nothing marked to probe through, an
	// IOAS immutable already) or its PRESERVE_FD went through.  A probe
	// refused with another errno than the contract's leaves
	// `wrong_errno` saying so: the LUO core's own checks (a token in
	// use...) come first and say nothing about the rule, so it counts
	// only if the real call then succeeds.
	struct Probe {
		Outcome outcome;
		std::string wrong_errno;
	};
	Probe before_preserve(const protocol::ObjectSpec &spec, const protocol::Step &step, int sfd);

	// The PCI address of the plan's edu device a VFIO object uses.
	Outcome device_addr(const protocol::ObjectSpec &spec, std::string &addr) const;

private:
	Outcome dependency_fd(const protocol::ObjectSpec &spec, int &dep_fd) const;
	bool late_written(const std::string &name) const;
	Outcome verify_fd(const protocol::ObjectSpec &spec, int fd, bool late);

	const protocol::Plan &plan_;
	mutable std::mutex mu_;
	std::map<std::string, int> fds_;
	std::vector<int> spare_iommufds_;  // bind_device's new ones
	// Objects whose after-PRESERVE_FD writes are in: done in this boot, or
	// restored from the kernel before, which had them when it froze.
	std::set<std::string> late_;
	// iommufd name -> the HWPTs marked in the context its fd holds now.
	std::map<std::string, std::vector<Attachment>> marked_;
	// VFIO device name -> the iommufd it is bound to and what it is
	// attached to now: gone with the device's fd.
	std::map<std::string, std::pair<std::string, Attachment>> attached_;
	bool marks_hwpts() const { return !plan_.iommufd_seal_err.empty(); }
	Probe probe_unsealed(const protocol::ObjectSpec &spec, int sfd, std::uint64_t token);
	Probe probe_unmarked(const protocol::ObjectSpec &spec, int sfd, std::uint64_t token);
	std::vector<Attachment> marks(const std::string &iommufd_name) const;
	void remember(const std::string &iommufd_name, const Attachment &at);
};

} // namespace luo::guest
