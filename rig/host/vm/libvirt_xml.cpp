// SPDX-License-Identifier: GPL-2.0-only
#include "host/vm/libvirt_xml.hpp"

#include <sstream>

#include "host/util/strings.hpp"

namespace luo::host {

namespace {

// libvirt has no model for QEMU's edu device, so the devices (and the root
// ports they need past 29 of them) are passed through as QEMU arguments.
// Their slots are outside anything libvirt places itself: the domain has
// no USB controller, balloon, video or network, and q35's own devices sit
// at 00:00.0 and 00:1f.x.
void edu_arguments(std::ostringstream &o, int count)
{
	auto arg = [&](const std::string &v) {
		o << "    <qemu:arg value='" << xml_escape(v) << "'/>\n";
	};
	for (const auto &dev : edu_device_args(count)) {
		arg("-device");
		arg(dev);
	}
}

} // namespace

std::string domain_xml(const DomainXml &d)
{
	const auto &s = d.spec;
	bool kvm = s.accel == Accel::kvm;
	std::ostringstream o;
	o << "<domain type='" << (kvm ? "kvm" : "qemu")
	  << "' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
	  << "  <name>" << xml_escape(d.name) << "</name>\n"
	  << "  <metadata>\n"
	  << "    <luo:run xmlns:luo='" << kLibvirtMetadataNs << "' owner='" << xml_escape(d.owner)
	  << "'/>\n"
	  << "  </metadata>\n"
	  << "  <memory unit='MiB'>" << s.memory_mb << "</memory>\n"
	  << "  <vcpu>" << (s.cpus > 0 ? s.cpus : cpus_for(s.accel)) << "</vcpu>\n"
	  << "  <os>\n"
	  << "    <type arch='x86_64' machine='q35'>hvm</type>\n"
	  << "    <kernel>" << xml_escape(d.kernel) << "</kernel>\n"
	  << "    <initrd>" << xml_escape(d.initrd) << "</initrd>\n"
	  << "    <cmdline>" << xml_escape(kernel_cmdline(s)) << "</cmdline>\n"
	  << "  </os>\n"
	  << "  <features><acpi/></features>\n"
	  // As the QEMU backend's -cpu: host passthrough, or TCG's maximum
	  // model less kTcgCpuWithout.
	  << (kvm ? std::string("  <cpu mode='host-passthrough'/>\n")
		  : std::string("  <cpu mode='maximum'>\n    <feature policy='disable' name='") +
			    kTcgCpuWithout + "'/>\n  </cpu>\n")
	  // A guest that powers off, reboots (panic=-1) or crashes is over: as
	  // QEMU's -no-reboot.
	  << "  <on_poweroff>destroy</on_poweroff>\n"
	  << "  <on_reboot>destroy</on_reboot>\n"
	  << "  <on_crash>destroy</on_crash>\n"
	  << "  <devices>\n";
	if (!d.emulator.empty())
		o << "    <emulator>" << xml_escape(d.emulator) << "</emulator>\n";
	// ttyS0 is the console, ttyS1 the mock VMM's events; both are read
	// through the API (virDomainOpenConsole), so a remote host works.
	o << "    <serial type='pty'><target port='0'/></serial>\n"
	  << "    <serial type='pty'><target port='1'/></serial>\n"
	  << "    <controller type='usb' model='none'/>\n"
	  << "    <memballoon model='none'/>\n"
	  << "    <iommu model='intel'/>\n"
	  << "  </devices>\n"
	  << "  <qemu:commandline>\n";
	edu_arguments(o, s.edu_devices);
	o << "  </qemu:commandline>\n"
	  << "</domain>\n";
	return o.str();
}

std::string pool_xml(const std::string &name, const std::string &dir)
{
	return "<pool type='dir'>\n  <name>" + xml_escape(name) + "</name>\n  <target><path>" +
	       xml_escape(dir) + "</path></target>\n</pool>\n";
}

std::string volume_xml(const std::string &name, std::uint64_t bytes)
{
	return "<volume>\n  <name>" + xml_escape(name) + "</name>\n  <capacity unit='bytes'>" +
	       std::to_string(bytes) + "</capacity>\n  <target><format type='raw'/></target>\n</volume>\n";
}

} // namespace luo::host
