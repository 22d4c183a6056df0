// SPDX-License-Identifier: GPL-2.0-only
#include "guest/pci_bind.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace luo::guest {

namespace {

const std::string kPciDevices = "/sys/bus/pci/devices/";

BindResult write_sysfs(const std::string &path, const std::string &text)
{
	int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return {errno, "open " + path + " for writing: " + std::strerror(errno)};
	ssize_t n;
	do
		n = ::write(fd, text.data(), text.size());
	while (n < 0 && errno == EINTR);
	int e = errno;
	::close(fd);
	if (n < 0)
		return {e, "write '" + text + "' to " + path + ": " + std::strerror(e)};
	if (static_cast<size_t>(n) != text.size())
		return {EIO, "write '" + text + "' to " + path + ": short write"};
	return {};
}

} // namespace

std::string pci_bound_driver(const std::string &addr)
{
	char buf[256];
	std::string link = kPciDevices + addr + "/driver";
	ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf) - 1);
	if (n <= 0)
		return "";
	buf[n] = 0;
	const char *slash = std::strrchr(buf, '/');
	return slash ? slash + 1 : buf;
}

BindResult bind_vfio_pci(const std::string &addr)
{
	const std::string dev = kPciDevices + addr;

	if (::access(dev.c_str(), F_OK))
		return {errno, "PCI device " + addr + " (" + dev + "): " + std::strerror(errno)};
	std::string drv = pci_bound_driver(addr);
	if (drv == "vfio-pci")
		return {};

	// driver_override first, so that nothing else grabs the device between
	// the unbind and the probe.
	if (auto r = write_sysfs(dev + "/driver_override", "vfio-pci"); !r)
		return r;
	if (!drv.empty())
		if (auto r = write_sysfs(dev + "/driver/unbind", addr); !r)
			return {r.err, "unbind " + addr + " from " + drv + ": " + r.detail};
	if (auto r = write_sysfs("/sys/bus/pci/drivers_probe", addr); !r)
		return r;

	drv = pci_bound_driver(addr);
	if (drv != "vfio-pci")
		return {ENODEV, "PCI device " + addr + " is bound to '" + drv +
					"' after driver_override=vfio-pci and drivers_probe, not to "
					"vfio-pci (CONFIG_VFIO_PCI? IOMMU group? see dmesg)"};
	return {};
}

} // namespace luo::guest
