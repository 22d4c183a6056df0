// SPDX-License-Identifier: GPL-2.0-only
#include "boot.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/reboot.h>
#include <fstream>
#include <algorithm>
#include <sstream>
#include <vector>
#include <sys/sendfile.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace luo::guest {

namespace {

constexpr const char *kBootKey = "luo_rig.boot=";
constexpr const char *kAfterKey = "luo_rig.after=";
constexpr const char *kKernel = "/boot/bzImage";
// The kernel keeps our initramfs readable here when booted with retain_initrd,
// so the next kernel gets the very same image without a copy inside itself.
constexpr const char *kRetainedInitrd = "/sys/firmware/initrd";
constexpr const char *kInitrdCopy = "/tmp/next-initrd";

bool starts_with(const std::string &s, const char *prefix)
{
	return s.rfind(prefix, 0) == 0;
}

int copy_file(const char *from, const char *to, std::string &detail)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		detail = std::string("open ") + from + ": " + strerror(errno);
		return -errno;
	}
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		int err = errno;
		close(in);
		detail = std::string("create ") + to + ": " + strerror(err);
		return -err;
	}
	// sysfs binary attributes do not support sendfile: copy by hand.
	char buf[1 << 16];
	ssize_t n;
	int err = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, n) != n) {
			err = errno ? errno : EIO;
			break;
		}
	}
	if (n < 0)
		err = errno;
	close(in);
	close(out);
	if (err) {
		detail = std::string("copy ") + from + ": " + strerror(err);
		return -err;
	}
	return 0;
}

} // namespace

void mount_basics()
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", 0, nullptr);
	mount("sysfs", "/sys", "sysfs", 0, nullptr);
	mount("devtmpfs", "/dev", "devtmpfs", 0, nullptr);
	mount("tmpfs", "/tmp", "tmpfs", 0, nullptr);
}

BootInfo parse_cmdline(const std::string &cmdline)
{
	BootInfo info;
	info.cmdline = cmdline;
	while (!info.cmdline.empty() &&
	       (info.cmdline.back() == '\n' || info.cmdline.back() == ' '))
		info.cmdline.pop_back();
	std::istringstream words(info.cmdline);
	std::string w;
	while (words >> w) {
		if (starts_with(w, kBootKey))
			info.boot = std::stoul(w.substr(strlen(kBootKey)));
		else if (starts_with(w, kAfterKey))
			info.after = std::stoul(w.substr(strlen(kAfterKey)));
	}
	return info;
}

std::string next_cmdline(const BootInfo &now, std::uint32_t kexec_step)
{
	std::istringstream in(now.cmdline);
	std::vector<std::string> words;
	for (std::string w; in >> w;)
		if (!starts_with(w, kBootKey) && !starts_with(w, kAfterKey))
			words.push_back(w);
	// A kernel built with CONFIG_CMDLINE (the debug flavour's kho_scratch=)
	// puts it in front of the command line it was given, which is this one:
	// drop the copy at the front, or every kexec would add one more.
	for (bool again = true; again;) {
		again = false;
		for (size_t k = 1; 2 * k <= words.size(); k++) {
			if (std::equal(words.begin(), words.begin() + k, words.begin() + k)) {
				words.erase(words.begin(), words.begin() + k);
				again = true;
				break;
			}
		}
	}
	std::string out;
	for (const auto &w : words)
		out += w + " ";
	out += kBootKey + std::to_string(now.boot + 1) + " " + kAfterKey +
	       std::to_string(kexec_step);
	return out;
}

int load_next(const BootInfo &now, std::uint32_t kexec_step, std::string &detail)
{
	struct stat st;
	if (stat(kInitrdCopy, &st) != 0) {
		int rc = copy_file(kRetainedInitrd, kInitrdCopy, detail);
		if (rc)
			return rc;
	}
	int kfd = open(kKernel, O_RDONLY | O_CLOEXEC);
	if (kfd < 0) {
		detail = std::string("open ") + kKernel + ": " + strerror(errno);
		return -errno;
	}
	int ifd = open(kInitrdCopy, O_RDONLY | O_CLOEXEC);
	if (ifd < 0) {
		int err = errno;
		close(kfd);
		detail = std::string("open ") + kInitrdCopy + ": " + strerror(err);
		return -err;
	}
	std::string cmd = next_cmdline(now, kexec_step);
	long rc = syscall(SYS_kexec_file_load, kfd, ifd, cmd.size() + 1, cmd.c_str(), 0UL);
	int err = errno;
	close(kfd);
	close(ifd);
	if (rc) {
		detail = std::string("kexec_file_load: ") + strerror(err);
		return -err;
	}
	sync();
	return 0;
}

int reboot_into_next(std::string &detail)
{
	syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_KEXEC,
		nullptr);
	int err = errno;
	detail = std::string("reboot(LINUX_REBOOT_CMD_KEXEC): ") + strerror(err);
	return -err;
}

int kexec_into_next(const BootInfo &now, std::uint32_t kexec_step, std::string &detail)
{
	if (int rc = load_next(now, kexec_step, detail))
		return rc;
	return reboot_into_next(detail);
}

std::string slurp(const char *path)
{
	std::ifstream in(path);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

void power_off()
{
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

} // namespace luo::guest
