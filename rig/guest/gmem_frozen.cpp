// SPDX-License-Identifier: GPL-2.0-only
//
// The check a frozen guest_memfd gets instead of its late pages, when the
// contract says PRESERVE_FD freezes the mapping (protocol::Plan::
// gmem_frozen_err).  Each way a page can change is tried once: a new folio
// by fallocate(), a hole punched where a folio is, and a new folio by a
// write fault through a user mapping, which is a path of its own in the
// kernel (no invalidate lock) and must be refused as well.
#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/gmem_layout.hpp"
#include "guest/kinds.hpp"
#include "guest/sys.hpp"
#include "protocol/plan.hpp"

namespace luo::guest::kind {

namespace {

std::string page_text(const protocol::ObjectSpec &spec, int fd, std::uint64_t page)
{
	return "page " + std::to_string(page) + " of guest-memfd '" + spec.name + "' (" +
	       fd_str(fd) + ")";
}

// The first page of class `cls`; the layout has each in pages 0-2.
std::uint64_t first_page(const protocol::ObjectSpec &spec, GmemPage cls)
{
	for (std::uint64_t p = 0;; p++)
		if (gmem_page(spec.seed, p) == cls)
			return p;
}

Outcome refused(const std::string &call, const std::string &page, int rc, int want)
{
	const std::string expect = protocol::errno_name(want);
	if (rc == 0)
		return fail(EIO, call + " " + page + " after PRESERVE_FD succeeded; the contract "
					  "says PRESERVE_FD freezes the mapping (" + expect + ")");
	if (errno != want)
		return errno_fail(call + " " + page + " after PRESERVE_FD, expected " + expect);
	return Outcome::ok();
}

// A write fault the kernel refuses is a SIGBUS: it is taken in a child,
// so that the VMM lives to report it.
Outcome write_fault_refused(const protocol::ObjectSpec &spec, int fd, std::uint64_t page)
{
	const std::string what = "a write through a shared mapping to " + page_text(spec, fd, page);
	Mapping m;
	m.addr = ::mmap(nullptr, spec.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m.addr == MAP_FAILED)
		return errno_fail("mmap for " + what);
	m.len = spec.size;
	pid_t pid = ::fork();
	if (pid < 0)
		return errno_fail("fork for " + what);
	if (pid == 0) {
		static_cast<volatile unsigned char *>(m.addr)[page * kGmemPage] = 0x5a;
		::_exit(0);
	}
	int status = 0;
	while (::waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errno_fail("waitpid for " + what);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)
		return Outcome::ok();
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return fail(EIO, what + " after PRESERVE_FD succeeded; the contract says "
				       "PRESERVE_FD freezes the mapping (SIGBUS)");
	return fail(EIO, what + " after PRESERVE_FD ended with status " +
			     std::to_string(status) + ", expected SIGBUS");
}

} // namespace

Outcome guest_memfd_check_frozen(const protocol::ObjectSpec &spec, int fd, int want)
{
	const std::uint64_t late = first_page(spec, GmemPage::late);
	const std::uint64_t early = first_page(spec, GmemPage::early);
	if (auto r = refused("fallocate", page_text(spec, fd, late),
			     ::fallocate(fd, FALLOC_FL_KEEP_SIZE, late * kGmemPage, kGmemPage), want);
	    !r)
		return r;
	if (auto r = refused("fallocate(PUNCH_HOLE)", page_text(spec, fd, early),
			     ::fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
					 early * kGmemPage, kGmemPage),
			     want);
	    !r)
		return r;
	return write_fault_refused(spec, fd, late);
}

} // namespace luo::guest::kind
