// SPDX-License-Identifier: GPL-2.0-only
//
// Where the mock VMM is in the live-update story: which boot this is, which
// kexec step brought it here, and how to get to the next kernel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace luo::guest {

struct BootInfo {
	std::uint32_t boot = 0;                // luo_rig.boot=N
	std::optional<std::uint32_t> after;    // luo_rig.after=STEP
	std::string cmdline;                   // the whole command line
};

// Parse a kernel command line (the text of /proc/cmdline).
BootInfo parse_cmdline(const std::string &cmdline);

// The command line for the next kernel: ours, with the rig's parameters
// replaced.
std::string next_cmdline(const BootInfo &now, std::uint32_t kexec_step);

// The filesystems every boot needs (proc, sys, devtmpfs, a tmpfs on /tmp):
// PID 1 of a bare initramfs starts with none.
void mount_basics();

// Load this same kernel and initramfs with kexec_file_load() and reboot into
// it.  Returns only on failure, with -errno and what failed in `detail`.
int kexec_into_next(const BootInfo &now, std::uint32_t kexec_step, std::string &detail);

// The two halves of kexec_into_next(), for a caller that retries the reboot
// (whose freeze of the sessions can fail) without loading again.  The
// second is the bare syscall: the freeze of every preserved file runs in it.
int load_next(const BootInfo &now, std::uint32_t kexec_step, std::string &detail);
int reboot_into_next(std::string &detail);

// A whole small file (/proc/cmdline, the plan); empty when unreadable.
std::string slurp(const char *path);

// The end of PID 1's story: flush and power off (QEMU then exits).
[[noreturn]] void power_off();

} // namespace luo::guest
