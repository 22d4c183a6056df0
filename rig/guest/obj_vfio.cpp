// SPDX-License-Identifier: GPL-2.0-only
//
// VFIO device cdev (/dev/vfio/devices/vfioN) bound to an iommufd.  The QEMU
// "edu" device stands in for a real assigned device: vfio-pci binds to it and
// it sits behind the emulated VT-d, which is all iommufd needs.
#include <cerrno>
#include <cstring>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/edu.hpp"
#include "guest/pci_bind.hpp"
#include "guest/ioas_layout.hpp"
#include "guest/kinds.hpp"
#include "guest/sys.hpp"
#include "guest/uapi_compat.hpp"

namespace luo::guest::kind {

namespace {

const std::string kPciDevices = "/sys/bus/pci/devices/";

std::string label(const protocol::ObjectSpec &spec, int fd)
{
	return "vfio-cdev '" + spec.name + "' (" + fd_str(fd) + ")";
}

Outcome bind_device(const std::string &addr)
{
	BindResult r = luo::guest::bind_vfio_pci(addr);
	return r ? Outcome::ok() : fail(r.err, r.detail);
}

// "vfioN" from /sys/bus/pci/devices/ADDR/vfio-dev/, which only exists with
// CONFIG_VFIO_DEVICE_CDEV and the device bound to a vfio driver.
Outcome cdev_name(const std::string &addr, std::string &name)
{
	const std::string dir = kPciDevices + addr + "/vfio-dev";
	DIR *d = ::opendir(dir.c_str());
	if (!d)
		return errno_fail("opendir " + dir + " (is " + addr + " bound to vfio-pci, "
				  "CONFIG_VFIO_DEVICE_CDEV=y?)");
	name.clear();
	while (dirent *e = ::readdir(d))
		if (!std::strncmp(e->d_name, "vfio", 4)) {
			name = e->d_name;
			break;
		}
	::closedir(d);
	if (name.empty())
		return fail(ENOENT, "no vfioN entry in " + dir);
	return Outcome::ok();
}

// The device's cdev, opened and bound to nothing.
Outcome open_cdev(const protocol::ObjectSpec &spec, const std::string &pci_addr, int &out,
		  std::string &path)
{
	if (auto r = vfio_cdev_path(pci_addr, path); !r)
		return Outcome::fail(r.result, "vfio-cdev '" + spec.name + "': " + r.detail);
	int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno_fail("open " + path + " (PCI " + pci_addr + ") for vfio-cdev '" +
				  spec.name + "'");
	out = fd;
	return Outcome::ok();
}

// Attach the device to `ioas` of the iommufd it is bound to.  The kernel
// resolves pt_id in the device's own iommufd context.
Outcome attach(int dev_fd, unsigned ioas)
{
	vfio_device_attach_iommufd_pt at;
	std::memset(&at, 0, sizeof(at));
	at.argsz = sizeof(at);
	at.pt_id = ioas;
	if (::ioctl(dev_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at))
		return errno_fail("");
	return Outcome::ok();
}

} // namespace

Outcome vfio_prepare(const std::vector<std::string> &pci_addrs)
{
	// Try every device even after a failure, so one report names all bad
	// ones; return the first failure.
	Outcome first = Outcome::ok();
	for (const auto &addr : pci_addrs) {
		Outcome r = bind_device(addr);
		if (!r && first)
			first = r;
		else if (!r)
			first.detail += "; " + r.detail;
	}
	return first;
}

Outcome vfio_fresh(const protocol::ObjectSpec &spec, const std::string &pci_addr, int &out)
{
	std::string path;
	return open_cdev(spec, pci_addr, out, path);
}

// Bind the cdev `fd` to `iommufd` and attach it to a new IOAS there, as a
// VMM does before using a device, or to IOAS `to` when it is not 0; through
// an HWPT it marks when `mark` is set.  `name` names the iommufd in messages.
static Outcome bind_attach(const std::string &dev, int fd, int iommufd, const std::string &name,
			   unsigned to, Attachment &at, bool mark)
{
	const std::string ictx = "iommufd '" + name + "'";
	vfio_device_bind_iommufd bind;
	std::memset(&bind, 0, sizeof(bind));
	bind.argsz = sizeof(bind);
	bind.iommufd = iommufd;
	if (::ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return errno_fail("ioctl(" + dev + ", VFIO_DEVICE_BIND_IOMMUFD, " + ictx + " " +
				  fd_str(iommufd) + ")");

	unsigned ioas = to;
	if (!ioas)
		if (auto r = ioas_alloc(iommufd, name, ioas); !r)
			return r;
	if (mark)
		return hwpt_attach_marked(fd, dev, iommufd, ictx + " " + fd_str(iommufd), bind.out_devid,
					  ioas, at);
	if (auto r = attach(fd, ioas); !r)
		return Outcome::fail(r.result, "ioctl(" + dev + ", VFIO_DEVICE_ATTACH_IOMMUFD_PT, IOAS " +
				     std::to_string(ioas) + " of " + ictx + ")" + r.detail);
	at = {ioas, 0, bind.out_devid, {}, false};
	return Outcome::ok();
}

Outcome vfio_cdev_path(const std::string &pci_addr, std::string &path)
{
	std::string vfion;
	if (auto r = cdev_name(pci_addr, vfion); !r)
		return r;
	path = "/dev/vfio/devices/" + vfion;
	return Outcome::ok();
}

Outcome vfio_group_path(const std::string &pci_addr, std::string &path)
{
	char buf[256];
	const std::string link = kPciDevices + pci_addr + "/iommu_group";
	ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf) - 1);
	if (n <= 0)
		return errno_fail("readlink " + link + " (no IOMMU group?)");
	buf[n] = 0;
	const char *slash = std::strrchr(buf, '/');
	path = std::string("/dev/vfio/") + (slash ? slash + 1 : buf);
	return Outcome::ok();
}

Outcome vfio_open_group(const protocol::ObjectSpec &spec, const std::string &pci_addr)
{
	std::string path;
	if (auto r = vfio_group_path(pci_addr, path); !r)
		return Outcome::fail(r.result, "vfio-cdev '" + spec.name + "': " + r.detail);
	// The group opens once at a time, and not while the device is open
	// through its cdev: VFIO's own EBUSY, whatever LUO holds.
	UniqueFd grp(::open(path.c_str(), O_RDWR | O_CLOEXEC));
	if (grp.get() < 0)
		return errno_fail("open " + path + " (group of PCI " + pci_addr + ", vfio-cdev '" +
				  spec.name + "')");
	// An iommufd serves as the group's container, so the device open gets
	// as far as the kernel's own checks without the type1 backend.
	int raw = -1;
	if (auto r = iommufd_fresh(raw); !r)
		return Outcome::fail(r.result, path + ": " + r.detail);
	UniqueFd ictx(raw);
	int container = ictx.get();
	if (::ioctl(grp.get(), VFIO_GROUP_SET_CONTAINER, &container))
		return errno_fail("ioctl(" + path + ", VFIO_GROUP_SET_CONTAINER, new iommufd " +
				  fd_str(container) + ")");
	int dev = ::ioctl(grp.get(), VFIO_GROUP_GET_DEVICE_FD, pci_addr.c_str());
	if (dev < 0)
		return errno_fail("ioctl(" + path + ", VFIO_GROUP_GET_DEVICE_FD, \"" + pci_addr + "\")");
	UniqueFd hold(dev);
	return {0, "opened " + path + " with a new iommufd as its container, got vfio-cdev '" +
			   spec.name + "' (PCI " + pci_addr + ") as " + fd_str(dev) + " and closed them"};
}

Outcome vfio_create(const protocol::ObjectSpec &spec, const std::string &pci_addr,
		    int iommufd, const Mapped &mem, int &out, Attachment &at, bool mark)
{
	int raw = -1;
	std::string path;
	if (auto r = open_cdev(spec, pci_addr, raw, path); !r)
		return r;
	UniqueFd fd(raw);
	const std::string dev = label(spec, fd.get()) + " = " + path;
	// A device on a later IOAS: a handler that puts it back on the
	// first, or confuses IOAS, shows in its DMA.
	if (auto r = bind_attach(dev, fd.get(), iommufd, spec.depends_on, mem.ioas > 1 ? mem.ioas : 0,
				 at, mark);
	    !r)
		return r;
	out = fd.release();
	return Outcome::ok();
}

Outcome vfio_bind(const protocol::ObjectSpec &spec, int fd, int iommufd, const std::string &name,
		  Attachment &at, bool mark)
{
	return bind_attach(label(spec, fd), fd, iommufd, name, 0, at, mark);
}

Outcome vfio_check_unbound(const protocol::ObjectSpec &spec, int fd)
{
	// An unbound cdev open refuses every ioctl but BIND with EINVAL
	// (vfio_device_fops_unl_ioctl() before access_granted), and GET_INFO
	// changes nothing: it tells bound from unbound without side effects.
	const std::string dev = label(spec, fd);
	vfio_device_info info;
	std::memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	if (::ioctl(fd, VFIO_DEVICE_GET_INFO, &info) == 0)
		return fail(EISCONN, dev + ": VFIO_DEVICE_GET_INFO succeeded, so the device is "
			    "already bound to an iommufd; an unbound one refuses it with EINVAL");
	if (errno != EINVAL)
		return errno_fail("ioctl(" + dev + ", VFIO_DEVICE_GET_INFO): expected EINVAL "
				  "(not bound)");
	return Outcome::ok();
}

Outcome vfio_verify(const protocol::ObjectSpec &spec, int fd, int iommufd, const Mapped &mem)
{
	const std::string dev = label(spec, fd);
	const std::string ictx = "iommufd '" + spec.depends_on + "' (" + fd_str(iommufd) + ")";

	// Refused with EINVAL on a cdev fd that is not bound to any iommufd.
	vfio_device_info info;
	std::memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	if (::ioctl(fd, VFIO_DEVICE_GET_INFO, &info))
		return errno_fail("ioctl(" + dev + ", VFIO_DEVICE_GET_INFO) (EINVAL: not bound "
				  "to an iommufd)");
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI))
		return fail(ENODEV, dev + ": VFIO_DEVICE_GET_INFO flags " +
			    std::to_string(info.flags) + " lack VFIO_DEVICE_FLAGS_PCI");

	unsigned ioas;
	if (auto r = ioas_alloc(iommufd, spec.depends_on, ioas); !r)
		return r;
	if (auto r = attach(fd, ioas); !r)
		return Outcome::fail(r.result, "ioctl(" + dev + ", VFIO_DEVICE_ATTACH_IOMMUFD_PT, IOAS " +
				     std::to_string(ioas) + " just allocated in " + ictx +
				     ") (ENOENT/EINVAL: bound to another iommufd)" + r.detail);

	// IOAS ids are small per-context integers, so the attach alone could
	// succeed against an unrelated IOAS with the same id in whatever iommufd
	// the device is really bound to.  Our IOAS can be in use only if the
	// attach went to it: then destroying it must fail with EBUSY.
	iommu_destroy d{};
	d.size = sizeof(d);
	d.id = ioas;
	if (::ioctl(iommufd, IOMMU_DESTROY, &d) == 0)
		return fail(EXDEV, dev + " attached to IOAS " + std::to_string(ioas) +
			    ", yet that IOAS in " + ictx + " was unused and could be "
			    "destroyed: the device is bound to a different iommufd");
	if (errno != EBUSY)
		return errno_fail("ioctl(" + ictx + ", IOMMU_DESTROY, IOAS " + std::to_string(ioas) +
				  " the device is attached to): expected EBUSY");

	edu::Device edu(fd, dev);
	if (auto r = edu.open(); !r)
		return r;
	if (auto r = edu.identity(); !r)
		return r;
	// The guest's address spaces: each IOAS where the iommufd maps a
	// memfd the VMM holds, and a DMA through each of those mappings.
	// Moving the device there frees the IOAS above.  With none held, the
	// device stays attached to that IOAS, as create() leaves it attached
	// to one: a later preserve sees the same kind of state.
	bool left = false;
	std::string first;
	std::size_t mappings = 0;
	for (const auto &[file, m] : file_mappings(mem, true)) {
		if (auto r = attach(fd, m.ioas); !r)
			return Outcome::fail(r.result, "ioctl(" + dev + ", VFIO_DEVICE_ATTACH_IOMMUFD_PT, "
						       "IOAS " + std::to_string(m.ioas) + " of " + ictx +
						       ", where memfd '" + file->spec->name + "' is mapped)" +
						       r.detail);
		if (!std::exchange(left, true))
			if (auto r = ioas_destroy(iommufd, ictx, ioas, "the device has left"); !r)
				return r;
		auto r = edu.dma_round_trip(m.iova, *file->spec, file->fd, m.start, m.length);
		if (!r)
			return Outcome::fail(r.result, "through IOAS " + std::to_string(m.ioas) + ": " +
							       r.detail);
		if (first.empty())
			first = r.detail;
		mappings++;
	}
	if (mappings > 1)
		first += "; the same through each of the " + std::to_string(mappings) +
			 " mappings of its " + std::to_string(mem.ioas) + " IOAS";
	return {0, first};
}

} // namespace luo::guest::kind
