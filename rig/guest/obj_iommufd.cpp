// SPDX-License-Identifier: GPL-2.0-only
//
// iommufd: the context a VFIO cdev is bound to.  It holds no data of its own;
// what matters is that it is a live context that objects can be added to.
#include <cerrno>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "guest/kinds.hpp"
#include "guest/sys.hpp"
#include "guest/uapi_compat.hpp"

namespace luo::guest::kind {

namespace {

std::string label(const std::string &name, int fd)
{
	return "iommufd '" + name + "' (" + fd_str(fd) + ")";
}

} // namespace

Outcome ioas_alloc(int iommufd, const std::string &iommufd_name, unsigned &ioas_id)
{
	iommu_ioas_alloc cmd{};
	cmd.size = sizeof(cmd);
	if (::ioctl(iommufd, IOMMU_IOAS_ALLOC, &cmd))
		return errno_fail("ioctl(" + label(iommufd_name, iommufd) + ", IOMMU_IOAS_ALLOC)");
	ioas_id = cmd.out_ioas_id;
	return Outcome::ok();
}

Outcome iommufd_create(const protocol::ObjectSpec &spec, int &out)
{
	UniqueFd fd(::open("/dev/iommu", O_RDWR | O_CLOEXEC));
	if (!fd.valid())
		return errno_fail("open /dev/iommu for iommufd '" + spec.name + "'");

	// One IOAS, as a VMM has for its guest's address space: an iommufd with
	// objects in it is what a handler must carry over, not an empty one.
	unsigned ioas;
	if (auto r = ioas_alloc(fd.get(), spec.name, ioas); !r)
		return r;
	out = fd.release();
	return Outcome::ok();
}

Outcome iommufd_verify(const protocol::ObjectSpec &spec, int fd)
{
	unsigned ioas;
	if (auto r = ioas_alloc(fd, spec.name, ioas); !r)
		return r;

	// Destroy it again so repeated verifies do not grow the context.
	iommu_destroy d{};
	d.size = sizeof(d);
	d.id = ioas;
	if (::ioctl(fd, IOMMU_DESTROY, &d))
		return errno_fail("ioctl(" + label(spec.name, fd) + ", IOMMU_DESTROY, IOAS " +
				  std::to_string(ioas) + " just allocated)");
	return Outcome::ok();
}

} // namespace luo::guest::kind
