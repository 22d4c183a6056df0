// SPDX-License-Identifier: GPL-2.0-only
#include "luo.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest/fail_nth.hpp"
#include "uapi_liveupdate.hpp"

namespace luo::guest::luo {

namespace {

int result_of(int rc)
{
	return rc < 0 ? -errno : rc;
}

template <typename T>
int session_ioctl(int devfd, unsigned long cmd, const std::string &name)
{
	T arg{};
	arg.size = sizeof(arg);
	if (name.size() >= sizeof(arg.name))
		return -ENAMETOOLONG;
	std::memcpy(arg.name, name.c_str(), name.size() + 1);
	fail_nth::Window armed;
	int rc = ioctl(devfd, cmd, &arg);
	return rc < 0 ? -errno : arg.fd;
}

} // namespace

int open_device()
{
	return result_of(open("/dev/liveupdate", O_RDWR | O_CLOEXEC));
}

int create_session(int devfd, const std::string &name)
{
	return session_ioctl<uapi::create_session>(devfd, uapi::kCreateSession, name);
}

int retrieve_session(int devfd, const std::string &name)
{
	return session_ioctl<uapi::retrieve_session>(devfd, uapi::kRetrieveSession, name);
}

int preserve(int sessionfd, int fd, std::uint64_t token)
{
	uapi::preserve_fd arg{};
	arg.size = sizeof(arg);
	arg.fd = fd;
	arg.token = token;
	fail_nth::Window armed;
	return result_of(ioctl(sessionfd, uapi::kPreserveFd, &arg));
}

int retrieve(int sessionfd, std::uint64_t token)
{
	uapi::retrieve_fd arg{};
	arg.size = sizeof(arg);
	arg.token = token;
	fail_nth::Window armed;
	int rc = ioctl(sessionfd, uapi::kRetrieveFd, &arg);
	return rc < 0 ? -errno : arg.fd;
}

int retrieve_unwritable(int sessionfd, std::uint64_t token)
{
	const long page = sysconf(_SC_PAGESIZE);
	void *mem = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	auto *arg = new (mem) uapi::retrieve_fd{};
	arg->size = sizeof(*arg);
	arg->fd = -1;
	arg->token = token;
	// The kernel reads the request (copy_from_user) and fails only when
	// it copies the fd number back, after it has retrieved the file.
	int rc = mprotect(mem, page, PROT_READ);
	if (rc == 0)
		rc = result_of(ioctl(sessionfd, uapi::kRetrieveFd, arg));
	else
		rc = -errno;
	munmap(mem, page);
	return rc < 0 ? rc : 0;
}

int finish(int sessionfd)
{
	uapi::session_finish arg{};
	arg.size = sizeof(arg);
	fail_nth::Window armed;
	return result_of(ioctl(sessionfd, uapi::kFinish, &arg));
}

} // namespace luo::guest::luo
