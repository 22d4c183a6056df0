// SPDX-License-Identifier: GPL-2.0-only
//
// memfd: the one kind LUO preserves upstream (mm/memfd_luo.c).  Its contents
// are the point of preserving it, so verify reads back every byte.
#include <cerrno>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/kinds.hpp"
#include "guest/pattern.hpp"
#include "guest/sys.hpp"

namespace luo::guest::kind {

namespace {

constexpr std::size_t kChunk = 1 << 16;

std::string label(const protocol::ObjectSpec &spec)
{
	return "memfd '" + spec.name + "'";
}

} // namespace

Outcome memfd_fresh(const protocol::ObjectSpec &spec, int &out)
{
	UniqueFd fd(::memfd_create(spec.name.c_str(), MFD_CLOEXEC));
	if (!fd.valid())
		return errno_fail("memfd_create(\"" + spec.name + "\", MFD_CLOEXEC)");
	if (::ftruncate(fd.get(), static_cast<off_t>(spec.size)))
		return errno_fail("ftruncate " + label(spec) + " to " + std::to_string(spec.size));
	out = fd.release();
	return Outcome::ok();
}

namespace {

Outcome create(const protocol::ObjectSpec &spec, unsigned flags, int &out)
{
	UniqueFd fd(::memfd_create(spec.name.c_str(), flags));
	if (!fd.valid())
		return errno_fail("memfd_create(\"" + spec.name + "\")");
	if (::ftruncate(fd.get(), static_cast<off_t>(spec.size)))
		return errno_fail("ftruncate " + label(spec) + " to " + std::to_string(spec.size));

	std::vector<unsigned char> buf(kChunk);
	for (std::uint64_t off = 0; off < spec.size;) {
		std::size_t n = spec.size - off < kChunk ? spec.size - off : kChunk;

		pattern_fill(spec.seed, off, buf.data(), n);
		ssize_t w = ::pwrite(fd.get(), buf.data(), n, static_cast<off_t>(off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno_fail("pwrite " + std::to_string(n) + " bytes at offset " +
					  std::to_string(off) + " of " + label(spec));
		if (w == 0)
			return fail(EIO, "pwrite at offset " + std::to_string(off) + " of " +
				    label(spec) + " wrote nothing");
		off += w;
	}
	if ((flags & MFD_ALLOW_SEALING) &&
	    ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_GROW | F_SEAL_SHRINK))
		return errno_fail("fcntl(" + label(spec) + ", F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_GROW | "
				  "F_SEAL_SHRINK)");
	out = fd.release();
	return Outcome::ok();
}

} // namespace

Outcome memfd_create(const protocol::ObjectSpec &spec, int &out)
{
	return create(spec, MFD_CLOEXEC, out);
}

Outcome memfd_create_sealed(const protocol::ObjectSpec &spec, int &out)
{
	return create(spec, MFD_CLOEXEC | MFD_ALLOW_SEALING, out);
}

Outcome memfd_verify(const protocol::ObjectSpec &spec, int fd)
{
	struct stat st;
	if (::fstat(fd, &st))
		return errno_fail("fstat " + label(spec) + " (" + fd_str(fd) + ")");
	if (static_cast<std::uint64_t>(st.st_size) != spec.size)
		return fail(EIO, label(spec) + " has size " + std::to_string(st.st_size) +
			    ", expected " + std::to_string(spec.size));

	// pread, not read: the file offset is shared with any dup and must not
	// matter to the check.
	std::vector<unsigned char> buf(kChunk);
	for (std::uint64_t off = 0; off < spec.size;) {
		std::size_t want = spec.size - off < kChunk ? spec.size - off : kChunk;
		ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno_fail("pread " + std::to_string(want) + " bytes at offset " +
					  std::to_string(off) + " of " + label(spec));
		if (n == 0)
			return fail(EIO, label(spec) + ": unexpected end of file at offset " +
				    std::to_string(off) + " of " + std::to_string(spec.size));
		if (auto bad = pattern_mismatch(spec.seed, off, buf.data(), n))
			return fail(EIO, label(spec) + ": " +
				    describe_mismatch(spec.seed, *bad, buf[*bad - off]));
		off += n;
	}
	return Outcome::ok();
}

} // namespace luo::guest::kind
