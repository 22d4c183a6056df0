// SPDX-License-Identifier: GPL-2.0-only
#include "guest/fail_nth.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "guest/sys.hpp"

namespace luo::guest::fail_nth {

namespace {

constexpr const char *kFailNth = "/proc/thread-self/fail-nth";

struct Armed {
	unsigned n = 0;
	bool hit = false;
	std::string error;
	unsigned left = 0;
};

thread_local Armed armed;

// Debug machinery that survives a failed allocation of its own by falling
// back (kmemleak's object pool) or by turning itself off (ODEBUG): an
// injected failure there would end the walk through a call's error paths
// without the call noticing, or blind the run.  Their caches never fail.
constexpr const char *kSpared[] = {"kmemleak_object", "kmemleak_scan_area",
				   "debug_objects_cache"};

// failslab, restricted to the caches marked for it, marks every cache but
// the spared ones.  A merged cache refuses the mark, so the host boots with
// slab_nomerge.
Outcome mark_caches()
{
	if (auto o = write_text("/sys/kernel/debug/failslab/cache-filter", "Y"); !o)
		return o;
	DIR *d = opendir("/sys/kernel/slab");
	if (!d)
		return errno_fail("/sys/kernel/slab");
	int marked = 0;
	std::string refused;
	while (const dirent *e = readdir(d)) {
		std::string name = e->d_name;
		if (name[0] == '.' || e->d_type == DT_LNK)
			continue;
		bool spared = false;
		for (const char *s : kSpared)
			spared |= name == s;
		if (spared)
			continue;
		if (write_text("/sys/kernel/slab/" + name + "/failslab", "1"))
			marked++;
		else
			refused += (refused.empty() ? "" : ", ") + name;
	}
	closedir(d);
	if (!refused.empty())
		return Outcome::fail(-EINVAL, "failslab refused by merged slab caches (" + refused +
						      "): boot with slab_nomerge");
	if (!marked)
		return Outcome::fail(-ENOENT, "no slab cache to mark in /sys/kernel/slab");
	return Outcome::ok();
}

} // namespace

Outcome setup()
{
	if (access(kFailNth, F_OK) != 0)
		return errno_fail(std::string(kFailNth) +
				  " (the kernel needs CONFIG_FAULT_INJECTION: --kernel-flavour debug)");
	mount_debugfs();
	// Each: path, value.  "verbose" 1 keeps the one-line notice that says
	// which allocator failed, without a stack dump per injected failure.
	static const char *const knobs[][2] = {
		{"/sys/kernel/debug/failslab/ignore-gfp-wait", "N"},
		{"/sys/kernel/debug/failslab/verbose", "1"},
		{"/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N"},
		{"/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N"},
		{"/sys/kernel/debug/fail_page_alloc/min-order", "0"},
		{"/sys/kernel/debug/fail_page_alloc/verbose", "1"},
	};
	for (const auto &k : knobs)
		if (auto o = write_text(k[0], k[1]); !o)
			return Outcome::fail(o.result, o.detail + " (the kernel needs CONFIG_FAILSLAB, "
							      "CONFIG_FAIL_PAGE_ALLOC and "
							      "CONFIG_FAULT_INJECTION_DEBUG_FS)");
	return mark_caches();
}

void arm(unsigned n)
{
	armed = Armed{n, false, {}};
}

Result take()
{
	Result r{armed.hit, armed.error, armed.left};
	armed = Armed{};
	return r;
}

Window::Window()
{
	if (!armed.n)
		return;
	// Opened and written before the call, so that neither allocates
	// inside the armed stretch.
	fd_ = open(kFailNth, O_RDWR | O_CLOEXEC);
	std::string n = std::to_string(armed.n);
	if (fd_ < 0 || write(fd_, n.c_str(), n.size()) < 0) {
		armed.error = std::string("arm ") + kFailNth + ": " + strerror(errno);
		if (fd_ >= 0)
			close(fd_);
		fd_ = -1;
	}
}

Window::~Window()
{
	if (fd_ < 0)
		return;
	int err = errno;  // the call's own errno is the caller's to read
	char buf[32] = {};
	ssize_t len = pread(fd_, buf, sizeof(buf) - 1, 0);
	if (len <= 0)
		armed.error = std::string("read back ") + kFailNth + ": " +
			      (len < 0 ? strerror(errno) : "empty");
	else {
		armed.left = std::strtoul(buf, nullptr, 10);
		armed.hit = armed.left == 0;
	}
	// Left armed, the count would carry over into the thread's next
	// syscall and fail it in the VMM's own code.
	if (write(fd_, "0", 1) < 0 && armed.error.empty())
		armed.error = std::string("disarm ") + kFailNth + ": " + strerror(errno);
	close(fd_);
	errno = err;
}

int open_fds()
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	int n = 0;
	while (const dirent *e = readdir(d))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;  // the directory's own fd
}

} // namespace luo::guest::fail_nth
