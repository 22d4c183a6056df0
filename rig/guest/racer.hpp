// SPDX-License-Identifier: GPL-2.0-only
//
// --inject race: helper threads that change the objects the mock VMM holds
// while a Live Update call runs on them, the way a VMM's other threads do
// (a guest faulting memory in, a device model reshaping its IOMMU space).
// Each change is one the contract lets userspace make at any time and that
// leaves what the checks look at as it was, so the call's outcome and the
// restored object are judged as in a quiet run: a handler that snapshots
// an object without holding it still loses what the racers shifted, and a
// walk over freed objects shows on the debug kernel's console.
//
//   guest-memfd  allocates the layout's hole pages one at a time, with
//                fallocate() and then through the fault path (a write
//                to a shared mapping, made through /proc/self/mem), and
//                punches them out again after each pass: holes may be
//                present after restore as long as they read zero, and
//                every written page must still be there.  Between passes
//                it binds the whole file to a memslot of its VM and
//                deletes the slot again (bindings are not preserved)
//   iommufd      allocates IOAS and destroys the older of the two it keeps,
//                so that a walk of the context's objects always meets one
//                that is about to be destroyed; into the one it keeps it
//                maps a page of each memfd the iommufd maps, copies a page
//                of the VMM's own mapping of it (IOMMU_IOAS_COPY out of
//                IOAS 1) and unmaps the first again.  Only ranges of files
//                the iommufd already maps: an anonymous or foreign one
//                would make a handler refuse the freeze, an outcome of the
//                racer's own making.  The VMM's IOAS are never touched.
//   vfio-cdev    opens another file of the device's cdev and closes it
//                again, as a VMM that reopens its device does; the file
//                stays unbound, so the VMM's binding, attachment and
//                device state are as they were.  Not the group path: in
//                this kernel a group open of a device whose cdev is bound
//                is refused (EBUSY), so it would change nothing.
//   waiting      in the kernel after the kexec, a device the kernel still
//   vfio-cdev    holds for a RETRIEVE_FD to come (up to and during that
//                retrieve): opens its group, /dev/vfio/<group>, and its
//                cdev, and closes what opened, as a second process that
//                reaches for the device early does; a group that opens
//                stays open a millisecond.  The open guard refuses both
//                (EBUSY) until the retrieve; whatever got through must
//                leave the retrieve's outcome as it was.
//                Not past the retrieve step: an unbound device's group
//                held open would make the VMM's own bind fail, by VFIO's
//                rule that the group and the cdev exclude each other.
//   sessions     on every call but the kexec's, creates a session of its
//                own, preserves a memfd of its own in it and closes the
//                session again, so that the session list and a handler's
//                global state change under the call.  Not at the kexec: a
//                session alive at the reboot would cross into the next
//                kernel, where no one retrieves it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "guest/objects.hpp"
#include "protocol/plan.hpp"

namespace luo::guest {

class Racer {
public:
	struct Target {
		const protocol::ObjectSpec *spec;
		int fd;
		// An iommufd's: the memfds it maps, those the VMM holds.
		Mapped mapped;
		// A guest_memfd's: its VM, if the VMM holds it, or -1.
		int vm_fd = -1;
		// A VFIO cdev's: the PCI address of its device.
		std::string pci_addr;
		// A VFIO cdev the VMM does not hold yet, that the kernel holds
		// for a RETRIEVE_FD of this step or a later one.
		bool waiting = false;
	};

	// The kinds above get a thread each; the others are left alone.
	// `luo_device` >= 0: a /dev/liveupdate fd the session racer uses.
	Racer(const std::vector<Target> &targets, int luo_device);
	~Racer();
	Racer(const Racer &) = delete;
	Racer &operator=(const Racer &) = delete;

	// Returns once every thread has tried its first change: a call that
	// ran before its racers got going was not raced.
	void wait_started();
	// The changes made to the objects so far.
	std::uint32_t changes() const { return changes_.load(); }
	// The session racer's: counted apart, so that a run whose object
	// racers all failed is not taken for a raced one.
	std::uint32_t session_changes() const { return session_changes_.load(); }
	// Of changes(), those of the device racer: reopening a cdev touches
	// none of the state the other racers change.
	std::uint32_t device_changes() const { return device_changes_.load(); }
	// The waiting-device racer's opens, each a try the open guard refuses
	// until the retrieve: not changes(), as a refused one changes nothing.
	std::uint32_t waiting_opens() const { return waiting_opens_.load(); }
	// The changes the kernel refused, every racer's.
	std::uint32_t refused() const { return refused_.load(); }
	// Stops and joins the threads; the changes they made to the objects.
	std::uint32_t stop();

	// In an iommufd just retrieved, before anything races it: how many of
	// its IOAS hold the page an iommufd racer copies into its own IOAS,
	// that is, racers' IOAS of the kernel before that came back with what
	// they held.  A handler that records every IOAS at the freeze brings
	// them back; one that records only the VMM's does not.
	static std::uint32_t carried_over(int iommufd, const std::string &name,
					  const Mapped &mapped);

private:
	void gmem(const protocol::ObjectSpec &spec, int fd, int vm_fd);
	// Adds a memslot of the VM over the whole guest_memfd, deletes it.
	void rebind(const protocol::ObjectSpec &spec, int fd, int vm_fd, void *map, bool &said);
	void iommufd(const protocol::ObjectSpec &spec, int fd, const Mapped &mapped);
	// One round of map, copy and unmap in the racer's own IOAS; `what`
	// names the iommufd.
	void reshape(int fd, const std::string &what, unsigned ioas, const Mapped &mapped,
		     bool &said);
	void device(const protocol::ObjectSpec &spec, const std::string &pci_addr);
	void waiting_device(const protocol::ObjectSpec &spec, const std::string &pci_addr);
	// One open of `path`, held for `hold`, and its close; EBUSY is the
	// guard's answer.
	void open_early(const std::string &path, const std::string &what,
			std::chrono::microseconds hold, bool &said);
	void sessions(int luo_device);
	// Counts a change the kernel refused, and says a racer's first on the
	// console, where the host's "the racers changed nothing" points; later
	// ones would flood it.
	void failed(bool &said, const std::string &what);
	// The same for a line that says its errno already.
	void said_once(bool &said, const std::string &line);

	std::atomic<bool> stop_{false};
	std::atomic<std::uint32_t> changes_{0};
	std::atomic<std::uint32_t> session_changes_{0};
	std::atomic<std::uint32_t> refused_{0};
	std::atomic<std::uint32_t> device_changes_{0};
	std::atomic<std::uint32_t> waiting_opens_{0};
	std::atomic<unsigned> started_{0};
	std::vector<std::thread> threads_;
};

} // namespace luo::guest
