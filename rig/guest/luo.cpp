// SPDX-License-Identifier: GPL-2.0-only
#include "luo.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

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
	return result_of(ioctl(sessionfd, uapi::kPreserveFd, &arg));
}

int retrieve(int sessionfd, std::uint64_t token)
{
	uapi::retrieve_fd arg{};
	arg.size = sizeof(arg);
	arg.token = token;
	int rc = ioctl(sessionfd, uapi::kRetrieveFd, &arg);
	return rc < 0 ? -errno : arg.fd;
}

int finish(int sessionfd)
{
	uapi::session_finish arg{};
	arg.size = sizeof(arg);
	return result_of(ioctl(sessionfd, uapi::kFinish, &arg));
}

} // namespace luo::guest::luo
