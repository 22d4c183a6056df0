// SPDX-License-Identifier: GPL-2.0-only
#include "guest/kmsg_watch.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "protocol/kernel_report.hpp"

namespace luo::guest {

KmsgWatch::KmsgWatch()
{
	fd_ = ::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd_ >= 0 && ::lseek(fd_, 0, SEEK_END) < 0) {
		::close(fd_);
		fd_ = -1;
	}
}

KmsgWatch::~KmsgWatch()
{
	if (fd_ >= 0)
		::close(fd_);
}

std::string KmsgWatch::take()
{
	std::string first;
	if (fd_ < 0)
		return first;
	// One record per read: "prio,seq,usec,flags;text\n" and its
	// dictionary lines, each starting with a space.
	char buf[8192];
	for (;;) {
		ssize_t n = ::read(fd_, buf, sizeof(buf) - 1);
		if (n < 0 && errno == EPIPE)
			continue;  // records were overwritten; the next one follows
		if (n <= 0)
			break;
		std::string rec(buf, static_cast<std::size_t>(n));
		auto semi = rec.find(';');
		if (semi == std::string::npos || !first.empty())
			continue;
		std::string text = rec.substr(semi + 1, rec.find('\n', semi) - semi - 1);
		if (protocol::starts_kernel_report(text))
			first = text;
	}
	return first;
}

} // namespace luo::guest
