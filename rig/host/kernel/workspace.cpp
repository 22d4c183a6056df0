// SPDX-License-Identifier: GPL-2.0-only
#include "host/kernel/workspace.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <set>
#include <sstream>
#include <sys/file.h>
#include <unistd.h>

#include "host/kernel/hash.hpp"
#include "host/kernel/patches.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/util/process.hpp"

namespace luo::host {

namespace fs = std::filesystem;

namespace {

constexpr const char *kComplete = "complete";
constexpr const char *kFailed = "failed";

// The lock file sits beside the workspace so that a wipe cannot remove it
// from under a waiting build.
fs::path lock_path(const fs::path &dir)
{
	return dir.parent_path() / (dir.filename().string() + ".lock");
}

std::string state_of(const fs::path &dir)
{
	std::error_code ec;
	if (!fs::is_regular_file(dir / "state", ec))
		return {};
	return read_file(dir / "state");
}

// What each touched file of the patched copy held, and its time, when make
// last ran: "<sha256> <time> <path>" per line.
struct Made {
	std::string hash;
	fs::file_time_type when;
};

fs::path made_from_path(const fs::path &copy)
{
	return copy.parent_path() / "made-from";
}

fs::path pending_path(const fs::path &copy)
{
	return copy.parent_path() / "made-from.pending";
}

std::map<std::string, Made> read_made_from(const fs::path &file)
{
	std::map<std::string, Made> out;
	std::error_code ec;
	if (!fs::is_regular_file(file, ec))
		return out;
	std::istringstream in(read_file(file));
	for (std::string line; std::getline(in, line);) {
		std::istringstream l(line);
		std::string hash, path;
		fs::file_time_type::rep ticks;
		if (!(l >> hash >> ticks) || !std::getline(l >> std::ws, path) || path.empty())
			return {}; // unreadable: every touched file counts as new
		out[path] = {hash, fs::file_time_type(fs::file_time_type::duration(ticks))};
	}
	return out;
}

} // namespace

Workspace::Workspace(fs::path dir, const fs::path &tree) : dir_(std::move(dir))
{
	fs::create_directories(dir_.parent_path());
	lock_fd_ = ::open(lock_path(dir_).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	int err = lock_fd_ < 0 ? errno : 0;
	if (!err && ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
		err = errno;
		if (err == EWOULDBLOCK) {
			// Say why nothing happens: another build of this workspace runs.
			std::fprintf(stderr, "luo-rig: waiting for %s: another kernel build "
				     "holds it\n", lock_path(dir_).c_str());
			err = ::flock(lock_fd_, LOCK_EX) == 0 ? 0 : errno;
		}
	}
	if (err) {
		if (lock_fd_ >= 0)
			::close(lock_fd_);
		throw SetupError("cannot lock " + lock_path(dir_).string() + ": " +
				 std::strerror(err));
	}
	std::string state = state_of(dir_);
	warm_ = (state == kComplete || state == kFailed) && fs::exists(obj() / ".config");
	if (!warm_)
		wipe();
	write_file_atomic(dir_.parent_path() / (dir_.filename().string() + ".tree"), tree.string());
}

Workspace::~Workspace()
{
	if (lock_fd_ >= 0)
		::close(lock_fd_);
}

void Workspace::building()
{
	fs::create_directories(dir_);
	write_file_atomic(dir_ / "state", "building");
}

void Workspace::completed()
{
	write_file_atomic(dir_ / "state", kComplete);
	warm_ = true;
}

void Workspace::failed()
{
	write_file_atomic(dir_ / "state", kFailed);
}

void Workspace::wipe()
{
	std::error_code ec;
	fs::remove_all(dir_, ec);
	if (ec)
		throw SetupError("cannot empty the build workspace " + dir_.string() + ": " +
				 ec.message());
	fs::create_directories(dir_);
	warm_ = false;
}

void sweep_orphan_workspaces(const fs::path &parent)
{
	std::error_code ec;
	for (const auto &e : fs::directory_iterator(parent, ec)) {
		if (e.path().extension() != ".tree")
			continue;
		fs::path tree = read_file(e.path());
		if (fs::exists(tree))
			continue;
		fs::path dir = e.path().parent_path() / e.path().stem();
		int fd = ::open(lock_path(dir).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			continue;
		if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
			fs::remove_all(dir, ec);
			fs::remove(e.path(), ec);
			fs::remove(lock_path(dir), ec);
		}
		::close(fd);
	}
}

std::vector<std::string> patched_paths(const std::string &patch_text)
{
	std::set<std::string> out;
	std::istringstream in(patch_text);
	std::string line;
	while (std::getline(in, line)) {
		if (line.rfind("--- ", 0) != 0 && line.rfind("+++ ", 0) != 0)
			continue;
		std::string path = line.substr(4);
		// "a/x/y.c\t2026-01-01 ..." (diff -u) or "a/x/y.c" (git)
		path = path.substr(0, path.find('\t'));
		while (!path.empty() && (path.back() == ' ' || path.back() == '\r'))
			path.pop_back();
		if (path.empty() || path == "/dev/null")
			continue;
		auto slash = path.find('/');
		if (slash == std::string::npos)
			continue; // -p1 strips one component; a bare name is not ours
		out.insert(path.substr(slash + 1));
	}
	return {out.begin(), out.end()};
}

void sync_patched_copy(const fs::path &pristine, bool pristine_copyable, const fs::path &copy,
		       const std::vector<fs::path> &patches, const fs::path &log)
{
	fs::path record = copy.parent_path() / "patched-files";
	std::set<std::string> touched;
	std::error_code gone;
	fs::remove(pending_path(copy), gone);
	if (!fs::exists(copy)) {
		if (pristine_copyable)
			capture({"cp", "-a", "--reflink=auto", pristine.string(), copy.string()});
		else
			capture({"sh", "-c",
				 "mkdir -p \"$1\" && tar -C \"$0\" --exclude=.git -c . | tar -C \"$1\" -x",
				 pristine.string(), copy.string()});
	} else {
		if (fs::exists(record)) {
			std::istringstream in(read_file(record));
			for (std::string l; std::getline(in, l);)
				if (!l.empty())
					touched.insert(l);
		}
		// What the last series changed goes back to the tree's text
		// first: rsync's size-and-time check alone could miss a patched
		// file of the same size.
		for (const auto &f : touched) {
			std::error_code ec;
			fs::remove(copy / f, ec);
			if (fs::is_regular_file(pristine / f, ec))
				fs::copy_file(pristine / f, copy / f, ec);
		}
		// Size and time decide what else is copied: a file the developer
		// edited comes over with its new time.
		RunOptions o;
		o.log = log;
		if (run_command({"rsync", "-a", "--delete", "--exclude=/.git",
				 pristine.string() + "/", copy.string() + "/"},
				o) != 0)
			throw SetupError("rsync of " + pristine.string() + " into " + copy.string() +
					 " failed; see " + log.string());
	}
	std::string now_patched;
	for (const auto &p : patches)
		for (const auto &f : patched_paths(read_file(p))) {
			touched.insert(f);
			now_patched += f + "\n";
		}
	// Recorded before applying: a series that stops half-way (a patch
	// that does not apply) leaves files the next sync must restore.
	std::string may_change;
	for (const auto &f : touched)
		may_change += f + "\n";
	write_file_atomic(record, may_change);
	apply_patches(copy, patches, log);
	// A file restored by rsync carries the pristine time, older than its
	// object: make would keep the object built from the patched text.  So
	// every touched file is new, unless its text is what make last saw.
	auto made = read_made_from(made_from_path(copy));
	auto now = fs::file_time_type::clock::now();
	std::string pending;
	for (const auto &f : touched) {
		std::error_code ec;
		if (!fs::is_regular_file(copy / f, ec))
			continue;
		std::string hash = sha256_file(copy / f);
		auto was = made.find(f);
		auto when = was != made.end() && was->second.hash == hash ? was->second.when : now;
		fs::last_write_time(copy / f, when, ec);
		if (ec)
			throw SetupError("cannot set the time of " + (copy / f).string() + ": " +
					 ec.message());
		pending += hash + " " + std::to_string(when.time_since_epoch().count()) + " " + f +
			   "\n";
	}
	write_file_atomic(pending_path(copy), pending);
	write_file_atomic(record, now_patched);
}

void sources_in_use(const fs::path &copy)
{
	std::error_code ec;
	if (fs::exists(pending_path(copy), ec))
		fs::rename(pending_path(copy), made_from_path(copy));
}

} // namespace luo::host
