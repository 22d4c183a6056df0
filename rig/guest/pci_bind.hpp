// SPDX-License-Identifier: GPL-2.0-only
//
// Binding a PCI device to vfio-pci through sysfs, shared by the mock VMM and
// the selftest runner: both hand the emulated edu device to VFIO.
#pragma once

#include <string>

namespace luo::guest {

struct BindResult {
	int err = 0;          // errno of the step that failed, 0 when bound
	std::string detail;   // what failed, for the report
	explicit operator bool() const { return err == 0; }
};

// The driver a PCI device ("0000:00:04.0") is bound to, "" if none.
std::string pci_bound_driver(const std::string &addr);

// Binds the device to vfio-pci unless it already is: driver_override, the
// old driver's unbind, drivers_probe, then a check of the result.
BindResult bind_vfio_pci(const std::string &addr);

} // namespace luo::guest
