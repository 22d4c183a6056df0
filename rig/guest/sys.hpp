// SPDX-License-Identifier: GPL-2.0-only
//
// Small syscall helpers shared by the object kinds: an owning fd, and the
// conversion of errno into an Outcome a kernel developer can act on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include <sys/mman.h>

#include "guest/objects.hpp"

namespace luo::guest {

// Owns an fd until release(); error paths then cannot leak one, which would
// keep a VM or an iommufd alive and skew what the kernel under test sees.
class UniqueFd {
public:
	UniqueFd() = default;
	explicit UniqueFd(int fd) : fd_(fd) {}
	~UniqueFd() { reset(); }
	UniqueFd(UniqueFd &&o) noexcept : fd_(o.release()) {}
	UniqueFd &operator=(UniqueFd &&o) noexcept
	{
		if (this != &o)
			reset(o.release());
		return *this;
	}
	UniqueFd(const UniqueFd &) = delete;
	UniqueFd &operator=(const UniqueFd &) = delete;

	int get() const { return fd_; }
	bool valid() const { return fd_ >= 0; }
	int release() { return std::exchange(fd_, -1); }
	void reset(int fd = -1);

private:
	int fd_ = -1;
};

// An mmap(2) that is unmapped when it goes out of scope, whatever check
// failed in between.
struct Mapping {
	void *addr = MAP_FAILED;
	std::size_t len = 0;
	Mapping() = default;
	Mapping(std::size_t n, int prot, int flags, int fd)
		: addr(::mmap(nullptr, n, prot, flags, fd, 0)), len(n)
	{
	}
	~Mapping()
	{
		if (addr != MAP_FAILED)
			::munmap(addr, len);
	}
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;
	bool ok() const { return addr != MAP_FAILED; }
};

// Outcome for a syscall that just failed: -errno and "<what>: <strerror>".
// Call it before anything else can clobber errno.
Outcome errno_fail(const std::string &what);

// Outcome for a failure whose errno is known (e.g. a check that did not
// hold, or an errno saved earlier).
Outcome fail(int err, const std::string &what);

// "fd 7"; identifies the fd in messages when the name alone is ambiguous.
std::string fd_str(int fd);

// "0x1000": addresses, offsets and register values in messages.
std::string hex(std::uint64_t v);

// Whole-file read and write for sysfs attributes.  The write is a single
// write(2), since sysfs stores act on each write call.
Outcome read_text(const std::string &path, std::string &out);
Outcome write_text(const std::string &path, const std::string &text);

// Debugfs on /sys/kernel/debug, unless it is mounted there already.  PID 1
// of the rig's initramfs mounts none at boot: only a debug kernel's checks
// (kmemleak, fail-nth) need it.  A failure is left for the caller to see as
// its control file missing, which names what the kernel lacks.
void mount_debugfs();

} // namespace luo::guest
