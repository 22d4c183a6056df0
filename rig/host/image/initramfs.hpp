// SPDX-License-Identifier: GPL-2.0-only
//
// The guest image: a cpio (newc) initramfs written with libarchive.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace luo::host {

struct ImageEntry {
	enum class Type { file, dir, chardev, symlink } type = Type::file;
	std::string path;                 // inside the image, without leading '/'
	std::filesystem::path source;     // file: host file to copy
	std::string content;              // file: literal content when no source
	std::string target;               // symlink target
	unsigned mode = 0644;
	unsigned major = 0, minor = 0;    // chardev
};

// Writes the entries to `out` atomically.
void write_initramfs(const std::filesystem::path &out, const std::vector<ImageEntry> &entries);

// Lists the paths inside an initramfs (for tests).
std::vector<std::string> list_initramfs(const std::filesystem::path &image);

} // namespace luo::host
