// SPDX-License-Identifier: GPL-2.0-only
//
// One create/verify pair per object kind, behind Objects.  Objects resolves
// names and dependencies; these functions see only fds, so each can be read
// (and fixed) next to the kernel code it exercises.
//
// create functions return the new fd in `out` only on success.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "guest/objects.hpp"

namespace luo::guest::kind {

// obj_memfd.cpp
Outcome memfd_create(const protocol::ObjectSpec &spec, int &out);
Outcome memfd_verify(const protocol::ObjectSpec &spec, int fd);

// obj_kvm.cpp
Outcome kvm_vm_create(const protocol::ObjectSpec &spec, int &out);
Outcome kvm_vm_verify(const protocol::ObjectSpec &spec, int vm_fd);
Outcome guest_memfd_create(const protocol::ObjectSpec &spec, int vm_fd, int &out);
// late_written: the pages the layout writes after PRESERVE_FD are expected
// (written in this boot, or restored from the kernel before).
Outcome guest_memfd_verify(const protocol::ObjectSpec &spec, int fd, int vm_fd, bool late_written);
// obj_kvm_vcpu.cpp: a new vCPU of `vm_fd` reads every page of the guest_memfd
// `fd` through its page tables (KVM's guest fault path) and each page's
// checksum is compared with the layout's, as guest_memfd_verify's are.
Outcome guest_memfd_run_vcpu(const protocol::ObjectSpec &spec, int fd, int vm_fd,
			     bool late_written);
// Right after a successful PRESERVE_FD: the pages to be written between it
// and the freeze (gmem_layout.hpp).
Outcome guest_memfd_write_late(const protocol::ObjectSpec &spec, int fd);
// Instead, when the contract freezes a preserved guest_memfd: a new folio
// (fallocate, and a write fault through a mapping) and a punched hole must
// each be refused, fallocate with `want` (an errno), the fault with SIGBUS.
Outcome guest_memfd_check_frozen(const protocol::ObjectSpec &spec, int fd, int want);

// Binds the guest_memfd `gmem_fd` whole (`size` bytes, mapped at `uaddr`)
// to memslot `slot` of `vm_fd` at `gpa`; deletes a memslot.  The detail is
// the errno's alone: the caller names the objects.
Outcome set_gmem_slot(int vm_fd, std::uint32_t slot, std::uint64_t gpa, int gmem_fd,
		      std::uint64_t size, void *uaddr);
Outcome delete_slot(int vm_fd, std::uint32_t slot);

// obj_iommufd.cpp
// The IOAS the VMM allocates first in a new iommufd, where a memfd it depends
// on is mapped whole at kMapIova: a restored iommufd keeps both.
constexpr unsigned kVmmIoas = 1;
constexpr std::uint64_t kMapIova = 0x100000;
Outcome iommufd_create(const protocol::ObjectSpec &spec, const Mapped &mem, int &out);
Outcome iommufd_verify(const protocol::ObjectSpec &spec, int fd, const Mapped &mem);
Outcome iommufd_fresh(int &out);
// IOMMU_IOAS_MAP_FILE of `mem`'s range `at`, fixed at its IOVA of its IOAS;
// `what` names the iommufd in the message, as in the ones below.
Outcome map_memfd(int iommufd, const std::string &what, const MappedFile &mem, const IoasMapping &at);
// IOMMU_IOAS_COPY of `len` bytes at `from_iova` of `from_ioas` to `to_iova`
// of `to_ioas`, and IOMMU_IOAS_UNMAP of a range.
Outcome ioas_copy(int iommufd, const std::string &what, unsigned from_ioas, std::uint64_t from_iova,
		  unsigned to_ioas, std::uint64_t to_iova, std::uint64_t len);
Outcome ioas_unmap(int iommufd, const std::string &what, unsigned ioas, std::uint64_t iova,
		   std::uint64_t len);
// A fresh IOAS in `iommufd`, and destroying one; shared with the VFIO checks.
// `what` names the iommufd and `which` the IOAS in the message.
Outcome ioas_alloc(int iommufd, const std::string &iommufd_name, unsigned &ioas_id);
Outcome ioas_destroy(int iommufd, const std::string &what, unsigned id, const std::string &which);

// iommufd_hwpt.cpp: marked HWPTs, for a contract that preserves only those.
// Allocate an HWPT for device `devid` (bound to `iommufd`) on `ioas`, attach
// the device `dev_fd` through it and mark it with a token.
Outcome hwpt_attach_marked(int dev_fd, const std::string &dev, int iommufd,
			   const std::string &what, unsigned devid, unsigned ioas, Attachment &out);
// Before PRESERVE_FD of `iommufd` as `token` in session `sfd`: map a memfd
// sealed only after mapping into `ioas`, which a marked HWPT translates, try
// the PRESERVE_FD (its errno in `preserve_err`, 0 if it went through) and
// unmap the probe.  Fails if the map, the unmap or the refusal did not
// happen; an IOAS that refuses the map as immutable (`immutable_err`) is named
// so, since nothing should hold the iommufd preserved then.
Outcome iommufd_probe_unsealed(const std::string &what, int iommufd, unsigned ioas, int sfd,
			       std::uint64_t token, int immutable_err, int &preserve_err);
// Before PRESERVE_FD of the VFIO device `dev_fd` as `token` in session
// `sfd`, attached through the marked HWPT `mark` of `iommufd`: attach it to
// a new, unmarked HWPT of the same IOAS, try the PRESERVE_FD (its errno in
// `preserve_err`), put it back on `mark` and destroy the new HWPT.  Fails if
// the preserve went through or the device could not be moved either way.
Outcome vfio_probe_unmarked(int dev_fd, const std::string &dev, int iommufd,
			    const std::string &what, const Attachment &mark, int sfd,
			    std::uint64_t token, int &preserve_err);
// Attach the VFIO device `dev_fd`, attached as `at` says, to a new HWPT of
// the same IOAS that is not marked; `at` then says so.
Outcome vfio_move_unmarked(int dev_fd, const std::string &dev, int iommufd,
			   const std::string &what, Attachment &at);
// After it: a map and an unmap of `ioas` must each fail with `want`.
Outcome iommufd_check_immutable(const std::string &what, int iommufd, unsigned ioas, int want);

// obj_memfd.cpp, with seals: F_SEAL_SEAL, _GROW and _SHRINK added once the
// contents are written, before anything maps it.
Outcome memfd_create_sealed(const protocol::ObjectSpec &spec, int &out);

// obj_vfio.cpp
Outcome vfio_prepare(const std::vector<std::string> &pci_addrs);
// Attached to a new IOAS of `iommufd`, or to its last one when it has
// several (mem.ioas > 1); through an HWPT it marks when `mark` is set.
// `at` says what it is attached to.
Outcome vfio_create(const protocol::ObjectSpec &spec, const std::string &pci_addr,
		    int iommufd, const Mapped &mem, int &out, Attachment &at, bool mark);
// Bind a retrieved, unbound cdev to `iommufd` and attach it to a new IOAS
// there, as vfio_create() does; `name` names that iommufd in messages.
Outcome vfio_bind(const protocol::ObjectSpec &spec, int fd, int iommufd, const std::string &name,
		  Attachment &at, bool mark);
// Success if the cdev `fd` is bound to no iommufd; EISCONN if it is.
Outcome vfio_check_unbound(const protocol::ObjectSpec &spec, int fd);
// With `mem` held, also a DMA by the device through every mapping of every
// IOAS (ioas_layout.hpp, edu.hpp); the device is left on the last IOAS.
Outcome vfio_verify(const protocol::ObjectSpec &spec, int fd, int iommufd, const Mapped &mem);

// New objects of a kind, made without anything the VMM sets on its own
// (contents, limits, bindings): what a handler that restores an empty object
// would hand back.  For Objects::verify_fresh.
Outcome memfd_fresh(const protocol::ObjectSpec &spec, int &out);
Outcome kvm_vm_fresh(int &out);
Outcome guest_memfd_fresh(const protocol::ObjectSpec &spec, int vm_fd, int &out);
Outcome vfio_fresh(const protocol::ObjectSpec &spec, const std::string &pci_addr, int &out);
// /dev/vfio/devices/vfioN of the PCI device, from sysfs.
Outcome vfio_cdev_path(const std::string &pci_addr, std::string &path);
// /dev/vfio/<group> of the PCI device, from its iommu_group link.
Outcome vfio_group_path(const std::string &pci_addr, std::string &path);
// The legacy group path: open /dev/vfio/<group> of the device, make a new
// iommufd its container, ask VFIO_GROUP_GET_DEVICE_FD for the device, and
// close everything.  Fails with the errno of the first call that fails.
Outcome vfio_open_group(const protocol::ObjectSpec &spec, const std::string &pci_addr);

// obj_unsupported.cpp
Outcome unsupported_create(const protocol::ObjectSpec &spec, int &out);
Outcome unsupported_verify(const protocol::ObjectSpec &spec, int fd);

} // namespace luo::guest::kind
