// SPDX-License-Identifier: GPL-2.0-only
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <unistd.h>

#include "host/util/errors.hpp"
#include "host/vm/backend.hpp"
#include "host/vm/libvirt.hpp"
#include "host/vm/libvirt_xml.hpp"
#include "host/vm/qemu.hpp"

using namespace luo::host;
namespace fs = std::filesystem;

namespace {

DomainXml sample(int edu, Accel accel = Accel::tcg)
{
	DomainXml d;
	d.name = "luo-rig-h-1-abcd-c1-vm-3";
	d.spec.accel = accel;
	d.spec.edu_devices = edu;
	d.spec.extra_cmdline = "lpj=1 luo_fault=drop-contents";
	d.kernel = "/var/lib/libvirt/images/luo-rig/k";
	d.initrd = "/var/lib/libvirt/images/luo-rig/i.cpio";
	d.owner = "h:1";
	return d;
}

std::vector<std::string> qemu_arg_values(const std::string &xml)
{
	std::vector<std::string> out;
	std::regex re("<qemu:arg value='([^']*)'/>");
	for (std::sregex_iterator it(xml.begin(), xml.end(), re), end; it != end; ++it)
		out.push_back((*it)[1]);
	return out;
}

// libvirt's own schema check, as shipped with libvirt-clients.
int validate(const std::string &xml, const std::string &kind)
{
	fs::path f = fs::temp_directory_path() / ("luo-rig-xml-" + std::to_string(getpid()) + ".xml");
	std::ofstream(f) << xml;
	int rc = std::system(("virt-xml-validate " + f.string() + " " + kind + " >/dev/null 2>&1").c_str());
	fs::remove(f);
	return rc;
}

} // namespace

TEST_CASE("domain XML: the QEMU backend's machine as a transient TCG domain", "[unit][libvirt]")
{
	auto d = sample(3);
	std::string x = domain_xml(d);
	CHECK(x.find("<domain type='qemu'") != std::string::npos);
	CHECK(x.find("<type arch='x86_64' machine='q35'>hvm</type>") != std::string::npos);
	CHECK(x.find("<cpu mode='maximum'>\n    <feature policy='disable' name='la57'/>") !=
	      std::string::npos);
	CHECK(x.find("<vcpu>1</vcpu>") != std::string::npos);
	CHECK(x.find("<memory unit='MiB'>2048</memory>") != std::string::npos);
	CHECK(x.find("<kernel>" + d.kernel + "</kernel>") != std::string::npos);
	CHECK(x.find("<initrd>" + d.initrd + "</initrd>") != std::string::npos);
	CHECK(x.find("<cmdline>" + kernel_cmdline(d.spec) + "</cmdline>") != std::string::npos);
	CHECK(x.find("<iommu model='intel'/>") != std::string::npos);
	CHECK(x.find("<serial type='pty'><target port='0'/></serial>") != std::string::npos);
	CHECK(x.find("<serial type='pty'><target port='1'/></serial>") != std::string::npos);
	for (const char *ev : {"on_poweroff", "on_reboot", "on_crash"})
		CHECK(x.find(std::string("<") + ev + ">destroy</" + ev + ">") != std::string::npos);
	CHECK(qemu_arg_values(x) == std::vector<std::string>{
		"-device", "edu,bus=pcie.0,addr=0x02", "-device", "edu,bus=pcie.0,addr=0x03",
		"-device", "edu,bus=pcie.0,addr=0x04"});
	CHECK(validate(x, "domain") == 0);
}

TEST_CASE("domain XML: KVM passes the host CPU through", "[unit][libvirt]")
{
	std::string x = domain_xml(sample(0, Accel::kvm));
	CHECK(x.find("<domain type='kvm'") != std::string::npos);
	CHECK(x.find("<cpu mode='host-passthrough'/>") != std::string::npos);
	CHECK(x.find("<vcpu>2</vcpu>") != std::string::npos);
	CHECK(qemu_arg_values(x).empty());
	CHECK(validate(x, "domain") == 0);
}

TEST_CASE("domain XML: every edu device where the QEMU backend puts it", "[unit][libvirt]")
{
	// The same devices with the same buses and addresses, so a plan's guest
	// PCI addresses hold on both backends.
	VmSpec s;
	s.edu_devices = max_edu_devices();
	s.workdir = "/w";
	auto a = qemu_args(s);
	std::vector<std::string> from_qemu;
	for (size_t i = 0; i + 1 < a.size(); i++)
		if (a[i] == "-device" && (a[i + 1].rfind("edu,", 0) == 0 ||
					  a[i + 1].rfind("pcie-root-port,", 0) == 0)) {
			from_qemu.push_back("-device");
			from_qemu.push_back(a[i + 1]);
		}
	auto d = sample(max_edu_devices());
	std::string x = domain_xml(d);
	CHECK(qemu_arg_values(x) == from_qemu);
	CHECK(validate(x, "domain") == 0);
	d.spec.edu_devices = max_edu_devices() + 1;
	CHECK_THROWS_AS(domain_xml(d), SetupError);
}

TEST_CASE("domain XML: text is escaped", "[unit][libvirt]")
{
	auto d = sample(0);
	d.spec.extra_cmdline = "a=<b>&'c'";
	d.owner = "o'&<";
	std::string x = domain_xml(d);
	CHECK(x.find("a=&lt;b&gt;&amp;&apos;c&apos;") != std::string::npos);
	CHECK(x.find("owner='o&apos;&amp;&lt;'") != std::string::npos);
	CHECK(validate(x, "domain") == 0);
}

TEST_CASE("pool and volume XML pass libvirt's schema", "[unit][libvirt]")
{
	std::string p = pool_xml("luo-rig", "/var/lib/libvirt/images/luo-rig");
	CHECK(p.find("<path>/var/lib/libvirt/images/luo-rig</path>") != std::string::npos);
	CHECK(validate(p, "storagepool") == 0);
	std::string v = volume_xml("x-bzImage", 12345);
	CHECK(v.find("<capacity unit='bytes'>12345</capacity>") != std::string::npos);
	CHECK(validate(v, "storagevol") == 0);
	// And the check itself can fail.
	CHECK(validate("<domain type='qemu'><nonsense/></domain>", "domain") != 0);
}

TEST_CASE("libvirt connections are given as a URI and an optional slot count", "[unit][libvirt]")
{
	auto c = parse_connect("qemu:///system");
	CHECK(c.uri == "qemu:///system");
	CHECK(c.slots == 0);
	c = parse_connect("qemu+ssh://h/system=4");
	CHECK(c.uri == "qemu+ssh://h/system");
	CHECK(c.slots == 4);
	c = parse_connect("qemu+ssh://h/system?keyfile=/k=2");
	CHECK(c.uri == "qemu+ssh://h/system?keyfile=/k");
	CHECK(c.slots == 2);
	// A query's own value is not a slot count.
	c = parse_connect("qemu+ssh://h/system?no_verify=x");
	CHECK(c.uri == "qemu+ssh://h/system?no_verify=x");
	CHECK(c.slots == 0);
	CHECK_THROWS_AS(parse_connect("=3"), SetupError);
	CHECK_THROWS_AS(parse_connect("localhost"), SetupError);
	CHECK_THROWS_AS(parse_connect("qemu:///system=0"), SetupError);
}

TEST_CASE("backend options the rig cannot honour are refused", "[unit][libvirt]")
{
	BackendOptions o;
	CHECK_NOTHROW(check_backend_options(o));
	o.kind = "xen";
	CHECK_THROWS_AS(check_backend_options(o), SetupError);
	o.kind = "qemu";
	o.connect = {"qemu:///system"};
	CHECK_THROWS_AS(check_backend_options(o), SetupError);  // --connect without libvirt
	o.kind = "libvirt";
	CHECK_NOTHROW(check_backend_options(o));
	o.qemu = "my-qemu";  // a name means nothing on another host
	CHECK_THROWS_AS(check_backend_options(o), SetupError);
	o.qemu = "/opt/qemu/bin/qemu-system-x86_64";
	CHECK_NOTHROW(check_backend_options(o));
	o.answer_seconds = 30;
	CHECK_NOTHROW(check_backend_options(o));
	o.answer_seconds = 7200;
	CHECK_THROWS_WITH(check_backend_options(o), Catch::Matchers::ContainsSubstring("1 to 3600"));
	BackendOptions q;
	q.answer_seconds = 30;  // no daemon to bound under --backend qemu
	CHECK_THROWS_WITH(check_backend_options(q), Catch::Matchers::ContainsSubstring("add --backend libvirt"));
}
