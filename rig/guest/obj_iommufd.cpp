// SPDX-License-Identifier: GPL-2.0-only
//
// iommufd: the context a VFIO cdev is bound to.  Its first IOAS (kVmmIoas)
// stands for the guest's address space; when the iommufd depends on memfds,
// each is mapped into its IOAS with IOMMU_IOAS_MAP_FILE where ioas_layout()
// says, and a restored iommufd must still have every IOAS and mapping.
#include <cerrno>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "guest/ioas_layout.hpp"
#include "guest/kinds.hpp"
#include "guest/sys.hpp"
#include "guest/uapi_compat.hpp"

namespace luo::guest::kind {

namespace {

std::string label(const std::string &name, int fd)
{
	return "iommufd '" + name + "' (" + fd_str(fd) + ")";
}

std::string iova_range(const IoasMapping &m, std::uint64_t len)
{
	return "IOVA " + hex(m.iova) + "+" + hex(len) + " of IOAS " + std::to_string(m.ioas);
}

std::string file_range(const IoasMapping &m, const MappedFile &mem)
{
	return "memfd '" + mem.spec->name + "' " + hex(m.start) + "+" + hex(m.length);
}

// IOMMU_IOAS_COPY only succeeds if the source range is mapped through and
// through: it asks the IOAS about its mappings without touching them.
Outcome copy_range(int iommufd, const std::string &what, unsigned scratch, const IoasMapping &m,
		   std::uint64_t len)
{
	return ioas_copy(iommufd, what, m.ioas, m.iova, scratch, m.iova, len);
}

// The range is mapped, and no further: a page past its end is not, which
// the layout's gaps guarantee for the VMM's own mappings.
Outcome check_mapping(int iommufd, const std::string &what, const MappedFile &mem, unsigned scratch,
		      const IoasMapping &m)
{
	// One page more first: once the range itself is copied into the
	// scratch IOAS, a second copy to the same IOVAs fails there (EEXIST)
	// whatever the source maps, and could never say the mapping grew.
	if (copy_range(iommufd, what, scratch, m, m.length + 4096)) {
		ioas_unmap(iommufd, what, scratch, m.iova, m.length + 4096);
		return fail(EIO, what + ": " + iova_range(m, m.length + 4096) + " is mapped through and "
				 "through, but the VMM mapped only " + file_range(m, mem) + " at " +
				 iova_range(m, m.length) + ": the mapping grew");
	}
	if (auto r = copy_range(iommufd, what, scratch, m, m.length); !r)
		return fail(-r.result, "ioctl(" + what + ", IOMMU_IOAS_COPY, " + iova_range(m, m.length) +
				       ", where " + file_range(m, mem) + " was mapped) (ENOENT: no such "
				       "IOAS, or the range is not mapped)");
	return Outcome::ok();
}

} // namespace

Outcome map_memfd(int iommufd, const std::string &what, const MappedFile &mem, const IoasMapping &at)
{
	iommu_ioas_map_file m{};
	m.size = sizeof(m);
	m.flags = kIoasMapFixedIova | kIoasMapReadable | kIoasMapWriteable;
	m.ioas_id = at.ioas;
	m.fd = mem.fd;
	m.start = at.start;
	m.length = at.length;
	m.iova = at.iova;
	if (::ioctl(iommufd, IOMMU_IOAS_MAP_FILE, &m))
		return errno_fail("ioctl(" + what + ", IOMMU_IOAS_MAP_FILE, " + file_range(at, mem) +
				  " " + fd_str(mem.fd) + " at " + iova_range(at, at.length) + ")");
	return Outcome::ok();
}

Outcome ioas_copy(int iommufd, const std::string &what, unsigned from_ioas, std::uint64_t from_iova,
		  unsigned to_ioas, std::uint64_t to_iova, std::uint64_t len)
{
	iommu_ioas_copy c{};
	c.size = sizeof(c);
	c.flags = kIoasMapFixedIova | kIoasMapReadable | kIoasMapWriteable;
	c.dst_ioas_id = to_ioas;
	c.src_ioas_id = from_ioas;
	c.length = len;
	c.dst_iova = to_iova;
	c.src_iova = from_iova;
	if (::ioctl(iommufd, IOMMU_IOAS_COPY, &c))
		return errno_fail("ioctl(" + what + ", IOMMU_IOAS_COPY, IOVA " + hex(from_iova) + "+" +
				  hex(len) + " of IOAS " + std::to_string(from_ioas) + " to IOVA " +
				  hex(to_iova) + " of IOAS " + std::to_string(to_ioas) + ")");
	return Outcome::ok();
}

Outcome ioas_unmap(int iommufd, const std::string &what, unsigned ioas, std::uint64_t iova,
		   std::uint64_t len)
{
	iommu_ioas_unmap u{};
	u.size = sizeof(u);
	u.ioas_id = ioas;
	u.iova = iova;
	u.length = len;
	if (::ioctl(iommufd, IOMMU_IOAS_UNMAP, &u))
		return errno_fail("ioctl(" + what + ", IOMMU_IOAS_UNMAP, IOVA " + hex(iova) + "+" +
				  hex(len) + " of IOAS " + std::to_string(ioas) + ")");
	return Outcome::ok();
}

Outcome ioas_alloc(int iommufd, const std::string &iommufd_name, unsigned &ioas_id)
{
	iommu_ioas_alloc cmd{};
	cmd.size = sizeof(cmd);
	if (::ioctl(iommufd, IOMMU_IOAS_ALLOC, &cmd))
		return errno_fail("ioctl(" + label(iommufd_name, iommufd) + ", IOMMU_IOAS_ALLOC)");
	ioas_id = cmd.out_ioas_id;
	return Outcome::ok();
}

Outcome ioas_destroy(int iommufd, const std::string &what, unsigned id, const std::string &which)
{
	iommu_destroy d{};
	d.size = sizeof(d);
	d.id = id;
	if (::ioctl(iommufd, IOMMU_DESTROY, &d))
		return errno_fail("ioctl(" + what + ", IOMMU_DESTROY, IOAS " + std::to_string(id) + " " +
				  which + ")");
	return Outcome::ok();
}

Outcome iommufd_fresh(int &out)
{
	out = ::open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (out < 0)
		return errno_fail("open /dev/iommu");
	return Outcome::ok();
}

Outcome iommufd_create(const protocol::ObjectSpec &spec, const Mapped &mem, int &out)
{
	int raw = -1;
	if (auto r = iommufd_fresh(raw); !r)
		return Outcome::fail(r.result, r.detail + " for iommufd '" + spec.name + "'");
	UniqueFd fd(raw);
	const std::string what = label(spec.name, fd.get());

	// One IOAS, as a VMM has for its guest's address space: an iommufd with
	// objects in it is what a handler must carry over, not an empty one.
	unsigned ioas;
	if (auto r = ioas_alloc(fd.get(), spec.name, ioas); !r)
		return r;
	if (ioas != kVmmIoas)
		return fail(EINVAL, what + ": the first IOAS of a new iommufd got ID " +
				    std::to_string(ioas) + ", expected " + std::to_string(kVmmIoas));
	// The later IOAS, for a VMM with several address spaces.
	for (unsigned k = 2; k <= spec.ioas; k++) {
		if (auto r = ioas_alloc(fd.get(), spec.name, ioas); !r)
			return r;
		if (ioas != k)
			return fail(EINVAL, what + ": IOAS " + std::to_string(k) + " of a new iommufd "
					    "got ID " + std::to_string(ioas));
	}
	for (const auto &fm : file_mappings(mem, false))
		if (auto r = map_memfd(fd.get(), what, *fm.file, fm.at); !r)
			return r;
	out = fd.release();
	return Outcome::ok();
}

Outcome iommufd_verify(const protocol::ObjectSpec &spec, int fd, const Mapped &mem)
{
	const std::string what = label(spec.name, fd);
	unsigned ioas;
	if (auto r = ioas_alloc(fd, spec.name, ioas); !r)
		return r;
	Outcome r = Outcome::ok();
	for (const auto &fm : file_mappings(mem, false))
		if (!(r = check_mapping(fd, what, *fm.file, ioas, fm.at)))
			break;
	// Destroy it again (the copied mapping with it) so that repeated
	// verifies do not grow the context.
	if (auto d = ioas_destroy(fd, what, ioas, "just allocated"); !d && r)
		r = d;
	return r;
}

} // namespace luo::guest::kind
