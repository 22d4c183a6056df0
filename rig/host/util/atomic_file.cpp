// SPDX-License-Identifier: GPL-2.0-only
#include "host/util/atomic_file.hpp"

#include <cerrno>
#include <csignal>
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

std::string read_file(const fs::path &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw std::runtime_error("cannot read " + path.string());
	return std::string((std::istreambuf_iterator<char>(in)), {});
}

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

// A process killed mid-build leaves its staging directory behind; it is
// never mistaken for an entry, but it takes space until someone sweeps it.
static void sweep_dead_stages(const fs::path &final_path)
{
	std::string prefix = "." + final_path.filename().string() + ".tmp-";
	std::error_code ec;
	for (const auto &e : fs::directory_iterator(final_path.parent_path(), ec)) {
		std::string name = e.path().filename().string();
		if (name.rfind(prefix, 0) != 0)
			continue;
		pid_t pid = std::atoi(name.c_str() + prefix.size());
		if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH)
			fs::remove_all(e.path(), ec);
	}
}

StagingDir::StagingDir(fs::path final_path) : final_(std::move(final_path))
{
	fs::create_directories(final_.parent_path());
	sweep_dead_stages(final_);
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
