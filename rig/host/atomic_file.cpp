// SPDX-License-Identifier: GPL-2.0-only
#include "atomic_file.hpp"

#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace luo::host {

namespace fs = std::filesystem;

namespace {

fs::path temp_beside(const fs::path &p)
{
	return p.parent_path() /
	       ("." + p.filename().string() + ".tmp-" + std::to_string(getpid()));
}

} // namespace

void write_file_atomic(const fs::path &path, std::string_view content)
{
	if (path.has_parent_path())
		fs::create_directories(path.parent_path());
	fs::path tmp = temp_beside(path);
	{
		std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
		out.write(content.data(), content.size());
		out.flush();
		if (!out) {
			std::error_code ec;
			fs::remove(tmp, ec);
			throw std::runtime_error("cannot write " + path.string());
		}
	}
	fs::rename(tmp, path);
}

StagingDir::StagingDir(fs::path final_path) : final_(std::move(final_path))
{
	fs::create_directories(final_.parent_path());
	tmp_ = temp_beside(final_);
	fs::remove_all(tmp_);
	fs::create_directories(tmp_);
}

StagingDir::~StagingDir()
{
	if (!published_) {
		std::error_code ec;
		fs::remove_all(tmp_, ec);
	}
}

void StagingDir::publish()
{
	std::error_code ec;
	fs::remove_all(final_, ec);
	fs::rename(tmp_, final_);
	published_ = true;
}

} // namespace luo::host
