// SPDX-License-Identifier: GPL-2.0-only
//
// Whole-file reads, and writes that never leave anything half-written under a
// final name: write to a temporary name beside it, then rename.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace luo::host {

// The whole content of a file; throws std::runtime_error naming it when it
// cannot be read.
std::string read_file(const std::filesystem::path &path);

void write_file_atomic(const std::filesystem::path &path, std::string_view content);

// A directory being filled under a temporary name.  publish() renames it into
// place; if it is never published, the destructor removes it.
class StagingDir {
public:
	explicit StagingDir(std::filesystem::path final_path);
	~StagingDir();
	StagingDir(const StagingDir &) = delete;
	StagingDir &operator=(const StagingDir &) = delete;

	const std::filesystem::path &path() const { return tmp_; }
	void publish();

private:
	std::filesystem::path final_;
	std::filesystem::path tmp_;
	bool published_ = false;
};

} // namespace luo::host
