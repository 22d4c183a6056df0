// SPDX-License-Identifier: GPL-2.0-only
//
// A dependency contract: what the kernel must answer, per dependency edge
// (dependent kind -> dependency kind), when userspace gets the order of a
// dependent and its dependency "wrong".  Contracts are data: files in
// scenarios/contracts/ (schema.json there), read by contract_file.cpp.  The
// oracle stays one state machine; these switches are all it reads.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "protocol/plan.hpp"

namespace luo::core {

// Where a rule was read from: the posted patch that has it.  Data only: the
// parser keeps it so that `plan --diff` and the docs can name the patch a
// verdict rests on.  Empty when the rule is the agreed one.
struct RuleSource {
	std::string message_id;  // "<...@...>"
	std::string version;     // "v5", "RFC v2"
	std::string date;        // YYYY-MM-DD, may be empty

	bool empty() const { return message_id.empty(); }
	bool operator==(const RuleSource &) const = default;
};

// The rules of one edge.  The defaults are the agreed contract
// (docs/design.md section 3, C1-C8); scenarios/contracts/agreed.json says the
// same, and a unit test holds the two together.
struct EdgeRules {
	// S1 (replaces C1): PRESERVE_FD of a dependent fails unless its
	// dependency is already preserved in the same session.
	bool preserve_needs_dependency = false;
	std::string preserve_dependency_err = "ENOENT";

	// C2: freeze (the kexec reboot) fails while a preserved file's
	// dependency is not preserved in the same session.
	bool freeze_needs_dependency = true;
	std::string freeze_dependency_err = "ENOENT";

	// S3 (replaces C3's "any order"): RETRIEVE_FD of a dependent fails
	// until userspace has retrieved the dependency; the failure changes
	// nothing, so retrying after retrieving the dependency succeeds.
	bool retrieve_needs_dependency = false;
	std::string retrieve_dependency_err = "ENOENT";

	// C3: retrieving a dependent retrieves its dependency inside the kernel.
	bool retrieve_binds_dependency = true;

	// C4: FINISH fails while a file userspace retrieved has a dependency
	// userspace did not retrieve itself.
	bool finish_needs_user_dependency = true;
	std::string finish_dependency_err = "EBUSY";

	// The posted patch each section was read from, by section name
	// ("preserve", "freeze", "retrieve", "finish"); data only.
	std::map<std::string, RuleSource> sources;

	bool operator==(const EdgeRules &) const = default;
};

// What opening a device node (a VFIO cdev, /dev/vfio/devices/vfioN) gets in
// the new kernel while a session still carries the device's file, neither
// retrieved nor finished.  Not one of C1-C8: the reference handler refuses
// (D1), as the posted VFIO series does, because the device would otherwise be
// driven through a second file unrelated to the one LUO hands back.
struct DeviceRules {
	bool open_needs_retrieve = true;
	std::string open_err = "EBUSY";

	bool operator==(const DeviceRules &) const = default;
};

// The VFIO device's own rules beyond D1, where the posted series departs
// from the reference handler.  Defaults are the agreed contract.
struct VfioRules {
	// What RETRIEVE_FD hands back.  Bound (agreed): the kernel binds the
	// device to its restored iommufd inside retrieve.  Unbound (posted):
	// the file is a fresh cdev open; userspace binds it with
	// VFIO_DEVICE_BIND_IOMMUFD and attaches it before using it.
	bool retrieve_unbound = false;
	RuleSource retrieve_source;

	// FINISH with the device preserved.  Agreed (C5): an unretrieved
	// device is discarded.  Posted: can_finish() is false while the device
	// is unretrieved and, in later versions, until it is bound (opened),
	// so FINISH fails with finish_err.
	bool finish_refuses_unretrieved = false;
	bool finish_until_bound = false;
	std::string finish_err = "EBUSY";
	RuleSource finish_source;

	// Which ways of opening the device D1 guards: its cdev always, and the
	// legacy group path (VFIO_GROUP_GET_DEVICE_FD) when open_group is set.
	bool open_group = false;
	RuleSource open_source;

	// PRESERVE_FD of a device attached to a page table of its iommufd (P8,
	// with marked HWPTs).  Agreed: whatever the page table.  Posted: only
	// the HWPTs userspace marked cross the update, so one that is not
	// marked fails the preserve with unmarked_err (a device attached to
	// nothing goes through without its iommufd).
	bool preserve_needs_marked_hwpt = false;
	std::string unmarked_err = "EINVAL";
	RuleSource preserve_source;

	// VFIO_DEVICE_BIND_IOMMUFD (or the group path's bind) in the next
	// kernel of a device preserved while attached through a marked HWPT
	// (P10, with marked HWPTs).  Agreed: it binds to any iommufd.  Posted
	// (iommufd v1): the IOMMU core puts the device back on its preserved
	// domain at boot with the group owned by that HWPT's token, which only
	// a later phase reclaims, so every bind fails with bind_err until the
	// next reboot.
	bool bind_refused_after_marked = false;
	std::string bind_err = "EPERM";
	RuleSource bind_source;

	bool operator==(const VfioRules &) const = default;
};

// Rules of a guest_memfd itself.  The agreed contract leaves a preserved
// guest_memfd writable until freeze (the rig writes sparse pages after
// PRESERVE_FD); a handler that collects its folios at PRESERVE_FD freezes the
// mapping there, and every later write or fallocate is refused with
// freeze_err.
struct GmemRules {
	bool preserve_freezes = false;
	std::string freeze_err = "EPERM";
	RuleSource source;

	bool operator==(const GmemRules &) const = default;
};

// Rules of an iommufd itself.  The agreed contract carries every IOAS and
// its mappings.  The posted series carries only the HWPTs userspace marked
// with a token (IOMMU_HWPT_LU_SET_PRESERVE): PRESERVE_FD refuses a marked
// HWPT whose IOAS maps a file that was not sealed (F_SEAL_SEAL, _GROW,
// _SHRINK) when it was mapped, with seal_err, and afterwards that IOAS is
// immutable: a map or unmap fails with immutable_err until the iommufd is
// unpreserved.
struct IommufdRules {
	bool preserve_marked_hwpts = false;
	std::string seal_err = "EINVAL";
	std::string immutable_err = "EBUSY";
	RuleSource source;

	// What the next kernel gives back (P9).  Agreed: RETRIEVE_FD returns
	// the iommufd with its IOAS and mappings.  Posted (v1) restores no
	// iommufd: RETRIEVE_FD fails with retrieve_err and can_finish() is
	// false whatever happened, so FINISH of a session that carries one
	// fails with finish_err, as long as the kernel runs.
	bool restores_nothing = false;
	std::string retrieve_err = "EOPNOTSUPP";
	std::string finish_err = "EBUSY";
	RuleSource retrieve_source;

	bool operator==(const IommufdRules &) const = default;
};

using Edge = std::pair<protocol::ObjectKind, protocol::ObjectKind>;  // dependent, dependency

// The dependency edges objects can have ("guest-memfd->kvm-vm", ...).
std::vector<Edge> dependency_edges();
std::string edge_name(const Edge &e);

struct Contract {
	std::string name;
	std::string description;
	EdgeRules rules;                  // every edge without its own entry
	std::map<Edge, EdgeRules> edges;  // per-edge rules
	DeviceRules vfio_cdev;            // the one kind with a device node
	VfioRules vfio;                   // its retrieve, FINISH and open paths
	GmemRules guest_memfd;
	IommufdRules iommufd;

	// What a kernel built from kernel-config/patches needs on its command
	// line to behave this way, and the console line each of its boots
	// prints when it does: a profile the kernel did not take is a rig
	// error, never a verdict.
	std::string kernel_cmdline;
	std::vector<std::string> kernel_confirms;

	const EdgeRules &edge(protocol::ObjectKind dependent, protocol::ObjectKind dependency) const;

	// The defaults: the agreed contract, for callers that take no
	// --contract (bench, shell).
	static Contract agreed();
};

// `file` names the text in messages and, without a "name" field, gives the
// name.  Throws ScenarioError (file:line:column, JSON pointer, the fix).
Contract parse_contract(const std::string &text, const std::string &file);
Contract load_contract(const std::string &path);

} // namespace luo::core
