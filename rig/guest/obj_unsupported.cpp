// SPDX-License-Identifier: GPL-2.0-only
//
// An fd type no LUO handler claims, to check that PRESERVE_FD refuses it
// cleanly (contract C7).
#include <fcntl.h>
#include <sys/eventfd.h>

#include "guest/kinds.hpp"
#include "guest/sys.hpp"

namespace luo::guest::kind {

Outcome unsupported_create(const protocol::ObjectSpec &spec, int &out)
{
	int fd = ::eventfd(0, EFD_CLOEXEC);
	if (fd < 0)
		return errno_fail("eventfd(0, EFD_CLOEXEC) for '" + spec.name + "'");
	out = fd;
	return Outcome::ok();
}

Outcome unsupported_verify(const protocol::ObjectSpec &spec, int fd)
{
	if (::fcntl(fd, F_GETFD) < 0)
		return errno_fail("fcntl(" + fd_str(fd) + ", F_GETFD) of '" + spec.name + "'");
	return Outcome::ok();
}

} // namespace luo::guest::kind
