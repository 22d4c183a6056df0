// SPDX-License-Identifier: GPL-2.0-only
//
// Thin wrappers over the /dev/liveupdate ioctls.  Each returns a new fd or 0
// on success and -errno on failure, so results go straight into events.
#pragma once

#include <cstdint>
#include <string>

namespace luo::guest::luo {

int open_device();
int create_session(int devfd, const std::string &name);
int retrieve_session(int devfd, const std::string &name);
int preserve(int sessionfd, int fd, std::uint64_t token);
int retrieve(int sessionfd, std::uint64_t token);
// RETRIEVE_FD whose argument the kernel can read but not write back: 0 if
// the ioctl claims success anyway (the reply was lost), else -errno.
int retrieve_unwritable(int sessionfd, std::uint64_t token);
int finish(int sessionfd);

} // namespace luo::guest::luo
