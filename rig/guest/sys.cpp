// SPDX-License-Identifier: GPL-2.0-only
#include "guest/sys.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace luo::guest {

void UniqueFd::reset(int fd)
{
	if (fd_ >= 0)
		::close(fd_);
	fd_ = fd;
}

Outcome fail(int err, const std::string &what)
{
	return Outcome::fail(-err, what + ": " + std::strerror(err));
}

Outcome errno_fail(const std::string &what)
{
	int err = errno;

	// A failure that left errno 0 would read as success; never report that.
	return fail(err ? err : EIO, what);
}

std::string fd_str(int fd)
{
	return "fd " + std::to_string(fd);
}

std::string hex(std::uint64_t v)
{
	char b[24];
	std::snprintf(b, sizeof(b), "0x%llx", static_cast<unsigned long long>(v));
	return b;
}

Outcome read_text(const std::string &path, std::string &out)
{
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd.valid())
		return errno_fail("open " + path);

	out.clear();
	char buf[4096];
	for (;;) {
		ssize_t n = ::read(fd.get(), buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno_fail("read " + path);
		}
		if (n == 0)
			break;
		out.append(buf, n);
	}
	while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
		out.pop_back();
	return Outcome::ok();
}

Outcome write_text(const std::string &path, const std::string &text)
{
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
	if (!fd.valid())
		return errno_fail("open " + path + " for writing");

	ssize_t n;
	do
		n = ::write(fd.get(), text.data(), text.size());
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno_fail("write '" + text + "' to " + path);
	if (static_cast<size_t>(n) != text.size())
		return fail(EIO, "write '" + text + "' to " + path + ": short write of " +
			    std::to_string(n) + " bytes");
	return Outcome::ok();
}

void mount_debugfs()
{
	constexpr const char *kDebugfs = "/sys/kernel/debug";
	struct statfs fs;
	if (statfs(kDebugfs, &fs) == 0 && fs.f_type == DEBUGFS_MAGIC)
		return;
	::mount("debugfs", kDebugfs, "debugfs", 0, nullptr);
}

} // namespace luo::guest
