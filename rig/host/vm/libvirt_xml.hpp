// SPDX-License-Identifier: GPL-2.0-only
//
// The libvirt backend's XML: a transient domain that is the same machine as
// the QEMU backend's command line (q35, intel-iommu, direct kernel boot, the
// edu devices at the same guest addresses, two serial ports), and the
// storage pool and volumes that carry the kernel and image to its host.
// Pure text builders, unit-tested.
#pragma once

#include <cstdint>
#include <string>

#include "host/vm/vm.hpp"

namespace luo::host {

struct DomainXml {
	std::string name;
	VmSpec spec;                // accel, memory, cpus, cmdline, edu devices
	std::string emulator;       // empty: the host's default for q35
	std::string kernel, initrd; // paths on the VM's host
	std::string owner;          // "host:pid" of the run, kept in <metadata>
};

std::string domain_xml(const DomainXml &d);
std::string pool_xml(const std::string &name, const std::string &dir);
std::string volume_xml(const std::string &name, std::uint64_t bytes);

// The namespace of the rig's <metadata> element in a domain.
inline constexpr const char *kLibvirtMetadataNs = "https://luo-rig.invalid/domain/1";

} // namespace luo::host
