// SPDX-License-Identifier: GPL-2.0-only
//
// Nothing half-written is ever left under a final name: write to a temporary
// name beside it, then rename.
#pragma once

#include <filesystem>
#include <string_view>

namespace luo::host {

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
