// SPDX-License-Identifier: GPL-2.0-only
//
// The plan: what the host asks the guest mock VMM to do.
//
// The guest is deliberately dumb.  It executes the steps of the current boot in
// order and reports one event per step; it never decides whether an outcome is
// right.  Expectations live on the host (the oracle), so a guest built once can
// run any contract.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace luo::protocol {

inline constexpr int kPlanVersion = 1;
// Most IOAS an iommufd object has (ObjectSpec::ioas), and the largest memfd
// one with several maps: each IOAS's ranges must fit below the next one's
// (guest/ioas_layout.hpp).
inline constexpr std::uint32_t kMaxIoas = 4;
inline constexpr std::uint64_t kMaxLayeredMemfd = 8ULL << 20;
// The memfds one iommufd may map: each takes a 16 MiB slot of every IOAS's
// IOVA range (guest/ioas_layout.hpp).
inline constexpr std::uint32_t kMaxMappedMemfds = 2;

enum class ObjectKind {
	memfd,        // memfd filled with a seeded pattern
	kvm_vm,       // KVM_CREATE_VM
	guest_memfd,  // KVM_CREATE_GUEST_MEMFD of its kvm_vm dependency
	iommufd,      // open("/dev/iommu") with one IOAS
	vfio_cdev,    // /dev/vfio/devices/vfioN bound to its iommufd dependency
	unsupported,  // an fd type no LUO handler accepts (an eventfd)
};

enum class Op {
	create,           // create `object` (in the boot its round starts)
	session_create,   // LIVEUPDATE_IOCTL_CREATE_SESSION `session`
	session_close,    // close the session fd
	preserve,         // PRESERVE_FD `object` as `token` in `session`
	kexec,            // kexec_file_load + reboot(KEXEC) into boot+1
	session_retrieve, // LIVEUPDATE_IOCTL_RETRIEVE_SESSION `session`
	retrieve,         // RETRIEVE_FD `token` from `session`, binds it to `object`
	retrieve_unwritable, // RETRIEVE_FD `token`, its argument in a read-only page:
	                     // the reply cannot be written back, so no fd reaches
	                     // userspace; binds nothing
	verify,           // functional check of the retrieved `object`
	same_object,      // retrieve `token` again: must be the same open file
	finish,           // LIVEUPDATE_SESSION_FINISH on `session`
	close_object,     // close the fd bound to `object`
	verify_fresh,     // verify's checks on a new object of `object`'s kind, made
	                  // now without the VMM's state: they must fail, or the
	                  // checks on the restored one prove nothing
	open_device,      // open `object`'s device node (a VFIO cdev) anew and
	                  // close it: in the new kernel, refused while LUO still
	                  // holds the device unretrieved
	open_group,       // the same through `object`'s VFIO group:
	                  // VFIO_GROUP_GET_DEVICE_FD with an iommufd as the
	                  // group's container; refused as the cdev open is
	bind_device,      // VFIO_DEVICE_BIND_IOMMUFD the retrieved `object` (a
	                  // VFIO cdev) and attach it to an IOAS: to its restored
	                  // iommufd when the guest holds it, else to a new one
	check_unbound,    // the retrieved `object` (a VFIO cdev) must be bound to
	                  // no iommufd yet: fails if it is
	run_vcpu,         // a new vCPU of `object`'s VM (`object` a guest_memfd)
	                  // reads every page of it through its page tables,
	                  // so through KVM's guest fault path, and the VMM
	                  // compares each page's checksum with the pattern
	move_device,      // attach `object` (a bound VFIO cdev) to a new HWPT of
	                  // the IOAS it is on, one the VMM does not mark
};

struct ObjectSpec {
	std::string name;           // unique in the plan
	ObjectKind kind{};
	std::string depends_on;     // name of the dependency, or empty
	std::uint64_t size = 0;     // bytes, for memfd and guest_memfd
	std::uint32_t seed = 0;     // pattern seed, for memfd and guest_memfd
	int device = -1;            // edu device index, for vfio_cdev
	// IOAS of an iommufd: the first maps its memfd whole, each later
	// one maps ranges of it elsewhere (guest/ioas_layout.hpp), and a
	// device bound to it is attached to the last.
	std::uint32_t ioas = 1;
	// An iommufd's further memfds, after depends_on: it maps each at IOVAs
	// of its own (guest/ioas_layout.hpp), and each is a dependency as
	// depends_on is.  At most kMaxMappedMemfds in all, each of at most
	// kMaxLayeredMemfd bytes.
	std::vector<std::string> also_maps;
};

// Every dependency of `o`, depends_on first, then also_maps.
std::vector<std::string> dependencies(const ObjectSpec &o);

struct Step {
	std::uint32_t id = 0;       // unique in the plan; events refer to it
	std::uint32_t boot = 0;     // 0 = first kernel, 1 after the first kexec...
	std::string case_id;        // empty for steps shared by a batch (kexec)
	Op op{};
	std::string session;        // kernel-visible session name
	std::string object;
	std::uint64_t token = 0;
	// 0: the mock VMM's main thread, one step after another.  N > 0: a
	// run of consecutive steps naming threads is served by that many
	// threads at once, thread N its own steps in plan order.
	std::uint32_t thread = 0;
	// A PRESERVE_FD whose expected outcome counts on the VMM's probe of
	// the contract's rule around it (P7: an iommufd's seal and
	// immutability checks; P8: a device tried on an unmarked HWPT).  The
	// host sets it from the oracle's verdict; the guest runs the probe
	// exactly then, and fails the step when it cannot (no marked HWPT,
	// no fd to probe through) rather than let the rule go unchecked.
	bool probe = false;
};

struct Plan {
	int version = kPlanVersion;
	std::string run_id;
	std::vector<std::string> edu_devices; // PCI addresses, index = device
	std::vector<ObjectSpec> objects;
	std::vector<Step> steps;
	// Every boot must scan for leaks before it kexecs or powers off (a
	// kernel built with kmemleak): a scan that cannot run is a setup
	// error, never a quiet pass.
	bool leak_scan = false;
	// Error-path injection (luo-rig run --inject fail-nth): each Live
	// Update call of a step runs again with fail-nth = 1, 2, 3... until
	// no injected failure is hit; see guest/fail_nth.hpp.
	bool fail_nth = false;
	// Under fail_nth, RETRIEVE_FD too: how many copies of each object whose
	// kind can be copied (retrieve_copyable()) the VMM preserves next to
	// it, the error paths of its retrieve walked on them in the next
	// kernel, one copy per injected failure (see copy_token()).  0: the
	// retrieves run once, unarmed.
	std::uint32_t retrieve_copies = 0;
	// Races (luo-rig run --inject race): while a step that races_on() runs,
	// helper threads of the mock VMM change the objects it holds open in
	// ways the contract allows; see guest/racer.hpp.
	bool race = false;
	// Non-empty when the contract says PRESERVE_FD freezes a guest_memfd
	// (kinds.guest-memfd.preserve.freezes): the errno name a change of a
	// preserved one must get.  The VMM then checks the freeze where it
	// would write the late pages (guest/gmem_layout.hpp), and writes none.
	std::string gmem_frozen_err;
	// Non-empty when the contract says PRESERVE_FD of an iommufd carries
	// only the HWPTs marked with a token (kinds.iommufd.preserve.carries):
	// the errno names of a refused unsealed mapping and of a change of a
	// preserved HWPT's IOAS.  The VMM then attaches each device through an
	// HWPT it marks, seals the memfds it maps, and checks both rules at
	// PRESERVE_FD (guest/iommufd_hwpt.cpp).
	std::string iommufd_seal_err;
	std::string iommufd_immutable_err;
	// Non-empty (with the two above) when the contract says a VFIO device
	// on a page table that is not a marked HWPT cannot be preserved
	// (kinds.vfio-cdev.preserve.hwpt): the errno name.  Right before the
	// PRESERVE_FD of a device it attached through a marked HWPT, the VMM
	// moves it to a new, unmarked HWPT of the same IOAS and tries the call
	// there (guest/iommufd_hwpt.cpp).
	std::string vfio_unmarked_err;
};

// Everything the guest can say.  A closed set: the host judges each kind, and
// a line with another type is noise, never silently a new meaning.
enum class EventType {
	boot,     // the mock VMM started in this boot; detail = kernel command line
	step,     // one plan step ran
	warning,  // something the plan needs went wrong outside a step
		  // (e.g. VFIO devices could not be prepared); err, detail
	fatal,    // the mock VMM cannot go on (e.g. unreadable plan); detail
	done,     // every step of this boot ran; the guest powers off
	selftest, // one stage of a kernel selftest ended (luo-selftests):
		  // selftest, stage, exit, signal, detail = its output
	taint,    // the kernel's taint mask as this boot ends (before its kexec
		  // or power-off): taint
	kmemleak, // the leak scan this boot's plan asked for could not run;
		  // err, detail
	injected, // fail-nth and races so far in a step whose own event the
		  // next boot sends (the kexec): step, injected, absorbed, raced
};

// One event per executed step, plus "boot" markers the host uses to follow
// progress and to spot hangs.
struct Event {
	std::uint64_t seq = 0;      // per boot, from 0
	std::uint32_t boot = 0;
	EventType type = EventType::step;
	std::uint32_t step = 0;     // for type == "step"
	std::string case_id;
	Op op{};
	int result = 0;             // 0 or -errno
	std::string err;            // errno name ("EBUSY"), empty when result == 0
	std::string detail;         // human-readable context for failures
	std::uint64_t usec = 0;     // time the step took (or the selftest stage)
	// type == "selftest": which program, which stage of it (0: a program
	// with one stage), and how it ended.
	std::string selftest;
	std::uint32_t stage = 0;
	int exit_code = 0;          // exit status, when signal == 0
	int signal = 0;             // the signal that killed it, or 0
	std::uint64_t taint = 0;    // type == "taint": /proc/sys/kernel/tainted
	// Under Plan::fail_nth: the error paths the step's calls reached (an
	// injected failure that returned an errno), the injected failures a
	// call got over and succeeded anyway (a fallback), and what an
	// injected failure left changed that must not be (empty: nothing),
	// which fails the step whatever its final outcome.
	std::uint32_t injected = 0;
	std::uint32_t absorbed = 0;
	std::string inject_broke;
	// A RETRIEVE_FD walked on copies: the injection points the kernel
	// counted in one retrieve (0: not walked).  More than the copies can
	// cover and the walk tries a spread of them, not each.
	std::uint32_t points = 0;
	// Of those points, the ones no copy was spent on (0: each was tried).
	std::uint32_t untried = 0;
	// type == "step", a step of the main thread: the first line of a
	// kernel report (WARNING:, BUG:, ...) the kernel logged while the step
	// ran, or empty.  It names the step; the console has the report.
	std::string kernel_report;
	// Under Plan::race: the changes the helper threads made to the objects
	// while the step's call ran.
	std::uint32_t raced = 0;
	// And those of the session racer (guest/racer.hpp), apart: they say
	// nothing of whether the case's objects were raced.
	std::uint32_t raced_sessions = 0;
	// And the changes the racers tried that the kernel refused, the
	// session racer's included; the console names each racer's first.
	std::uint32_t raced_refused = 0;
	// Of `raced`, the device racer's (reopened VFIO cdevs).
	std::uint32_t raced_devices = 0;
	// The waiting-device racer's opens of the group and cdev of VFIO
	// devices the kernel held for a retrieve to come; not in `raced`, as
	// the open guard refuses them.
	std::uint32_t raced_waiting = 0;
	// A retrieved iommufd's: the racers' IOAS of the kernel before that
	// came back with the range they copied (Racer::carried_over).
	std::uint32_t raced_carried = 0;
};

const char *to_string(ObjectKind k);
const char *to_string(Op op);
const char *to_string(EventType t);
std::optional<EventType> event_type_from(const std::string &s);
std::optional<ObjectKind> object_kind_from(const std::string &s);
std::optional<Op> op_from(const std::string &s);
// Under Plan::fail_nth the mock VMM walks this op's Live Update call through
// its error paths.  Left out: a close, whose fd is gone whatever the release
// did; and RETRIEVE_FD, walked on copies instead (Plan::retrieve_copies),
// because after one injected failure no retry of the file itself can
// succeed and the rest of the case could not be judged.
inline bool fail_nth_arms(Op op)
{
	return op == Op::session_create || op == Op::session_retrieve || op == Op::preserve ||
	       op == Op::finish || op == Op::kexec;
}
// A failed RETRIEVE_FD is final: LUO keeps its error as the file's answer
// for good (retrieve_status in kernel/liveupdate/luo_file.c).  So the walk of
// a retrieve's error paths spends one preserved file per injected failure:
// copies of the object, made like it (same kind, size, pattern and
// dependency) and preserved in its session right after it, each under a
// token of its own.  Not a VFIO device (there is one edu device per
// object) nor the kind no handler takes.
inline constexpr std::uint32_t kMaxRetrieveCopies = 255;
// Copy tokens have the top bit set and the object's token above the copy's
// index, so they meet neither a plan token (the host keeps those below
// kMaxWalkedToken under fail-nth) nor another object's copies.
inline constexpr std::uint64_t kMaxWalkedToken = 1ULL << 40;
inline std::uint64_t copy_token(std::uint64_t token, std::uint32_t index)
{
	return (1ULL << 63) | (token << 8) | index;
}
inline bool retrieve_copyable(ObjectKind k)
{
	return k == ObjectKind::memfd || k == ObjectKind::kvm_vm ||
	       k == ObjectKind::guest_memfd || k == ObjectKind::iommufd;
}
// Under Plan::race the helper threads change objects while this op runs:
// every Live Update call (the freeze runs inside the kexec), not the VMM's
// own checks, which would then judge what the racers did.
inline bool races_on(Op op)
{
	return fail_nth_arms(op) || op == Op::retrieve || op == Op::session_close;
}
// The op passes a token to the kernel; 0 is a token like any other there.
inline bool has_token(Op op)
{
	return op == Op::preserve || op == Op::retrieve || op == Op::retrieve_unwritable ||
	       op == Op::same_object;
}
// Every op's name, in declaration order.
std::vector<std::string> op_names();

// JSON text <-> structures.  Parsing throws std::runtime_error naming the
// field that is wrong.
// indent as nlohmann::json::dump: -1 is one compact line.
std::string plan_to_json(const Plan &plan, int indent = 1);
Plan plan_from_json(const std::string &text);

// What the guest carries: one line of compact JSON per boot, line k the
// plan of boot k (its steps, the objects they name and their dependencies).
// A boot parses its own line only: a chain of many kexec rounds has a plan
// of megabytes, which would cost every boot most of a second under TCG.
inline constexpr const char *kGuestPlan = "/plan.jsonl";
Plan plan_for_boot(const Plan &plan, std::uint32_t boot);
std::string plan_to_boot_lines(const Plan &plan);
// Throws std::runtime_error when the text has no line for `boot`.
Plan plan_from_boot_lines(const std::string &text, std::uint32_t boot);
std::string event_to_json(const Event &ev);   // one line, no newline
Event event_from_json(const std::string &line);

// Errno <-> its symbolic name ("ENOENT"); unknown values round-trip as "E<n>".
std::string errno_name(int err);
int errno_from_name(const std::string &name);

// Object names used by the guest for the result of a retrieve.
const ObjectSpec *find_object(const Plan &plan, const std::string &name);

} // namespace luo::protocol
