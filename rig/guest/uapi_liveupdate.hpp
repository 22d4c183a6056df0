// SPDX-License-Identifier: GPL-2.0-only
//
// /dev/liveupdate uAPI as of Linux 7.3 (include/uapi/linux/liveupdate.h).
// Debian 12's linux-libc-dev predates it, so the guest carries the layouts it
// relies on; they are ABI and must not drift.
#pragma once

#include <linux/ioctl.h>
#include <linux/types.h>

namespace luo::guest::uapi {

inline constexpr unsigned kIoctlType = 0xBA;
inline constexpr unsigned kSessionNameLength = 64;

struct create_session {
	__u32 size;
	__s32 fd;
	__u8 name[kSessionNameLength];
};

struct retrieve_session {
	__u32 size;
	__s32 fd;
	__u8 name[kSessionNameLength];
};

struct preserve_fd {
	__u32 size;
	__s32 fd;
	__aligned_u64 token;
};

struct retrieve_fd {
	__u32 size;
	__s32 fd;
	__aligned_u64 token;
};

struct session_finish {
	__u32 size;
	__u32 reserved;
};

inline constexpr unsigned long kCreateSession = _IO(kIoctlType, 0x00);
inline constexpr unsigned long kRetrieveSession = _IO(kIoctlType, 0x01);
inline constexpr unsigned long kPreserveFd = _IO(kIoctlType, 0x40);
inline constexpr unsigned long kRetrieveFd = _IO(kIoctlType, 0x41);
inline constexpr unsigned long kFinish = _IO(kIoctlType, 0x42);

} // namespace luo::guest::uapi
