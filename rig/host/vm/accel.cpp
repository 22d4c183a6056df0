// SPDX-License-Identifier: GPL-2.0-only
#include "host/vm/accel.hpp"

#include <fcntl.h>
#include <fstream>
#include <linux/kvm.h>
#include <regex>
#include <sstream>
#include <sys/ioctl.h>
#include <unistd.h>

#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"

namespace luo::host {

const char *to_string(Accel a)
{
	return a == Accel::kvm ? "kvm" : "tcg";
}

AccelChoice decide_accel(const std::string &requested, const std::string &cpuinfo,
			 bool kvm_device_ok)
{
	static const std::regex virt_flag(R"(^flags\s*:.*\b(vmx|svm)\b)", std::regex::multiline);
	bool hw = std::regex_search(cpuinfo, virt_flag);
	if (requested == "tcg")
		return {Accel::tcg, "TCG, as requested"};
	if (requested == "kvm") {
		if (!kvm_device_ok)
			throw SetupError("--accel kvm: /dev/kvm is missing or unusable; use "
					 "--accel tcg (or auto)");
		return {Accel::kvm, std::string("KVM, as requested") +
					    (hw ? "" : " (the CPU advertises no vmx/svm)")};
	}
	if (requested != "auto")
		throw SetupError("--accel " + requested + ": expected kvm, tcg or auto");
	// A /dev/kvm without vmx/svm in cpuinfo is a paging-based KVM that cannot
	// run a standard kernel: QEMU stops with "KVM internal error".
	if (hw && kvm_device_ok)
		return {Accel::kvm, "KVM (host CPU has vmx/svm and /dev/kvm works)"};
	if (!hw)
		return {Accel::tcg, "TCG (host CPU advertises no vmx/svm)"};
	return {Accel::tcg, "TCG (/dev/kvm is missing or unusable)"};
}

AccelChoice choose_accel(const std::string &requested)
{
	bool ok = false;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		ok = ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
		close(fd);
	}
	return decide_accel(requested, read_file("/proc/cpuinfo"), ok);
}

} // namespace luo::host
