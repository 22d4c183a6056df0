// SPDX-License-Identifier: GPL-2.0-only
#include "host/vm/libvirt_watchdog.hpp"

#include <filesystem>

#include <sys/socket.h>
#include <sys/stat.h>

namespace luo::host {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

SocketSet open_sockets()
{
	SocketSet out;
	std::error_code ec;
	for (fs::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
		const std::string name = it->path().filename().string();
		if (name.find_first_not_of("0123456789") != std::string::npos)
			continue;
		int fd = std::stoi(name);
		struct stat st {};
		if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
			out.emplace(fd, st.st_ino);
	}
	return out;
}

DaemonWatchdog::DaemonWatchdog(std::chrono::seconds limit, Report on_overrun, Report on_stuck)
	: limit_(limit), on_overrun_(std::move(on_overrun)), on_stuck_(std::move(on_stuck)),
	  thread_([this] { loop(); })
{
}

DaemonWatchdog::~DaemonWatchdog()
{
	{
		std::lock_guard lock(mu_);
		quit_ = true;
	}
	cv_.notify_all();
	thread_.join();
}

DaemonWatchdog::Call::Call(DaemonWatchdog &w, std::string what) : w_(w)
{
	std::lock_guard lock(w_.mu_);
	id_ = w_.next_id_++;
	w_.calls_[id_] = {std::move(what), clock_type::now()};
}

DaemonWatchdog::Call::~Call()
{
	std::lock_guard lock(w_.mu_);
	w_.calls_.erase(id_);
}

void DaemonWatchdog::opening()
{
	SocketSet now = open_sockets();
	std::lock_guard lock(mu_);
	before_ = std::move(now);
	adopted_ = false;
}

void DaemonWatchdog::opened()
{
	SocketSet mine = new_since_opening();
	std::lock_guard lock(mu_);
	mine_ = std::move(mine);
	adopted_ = true;
}

SocketSet DaemonWatchdog::new_since_opening() const
{
	SocketSet before;
	{
		std::lock_guard lock(mu_);
		before = before_;
	}
	SocketSet out;
	for (const auto &s : open_sockets())
		if (!before.count(s))
			out.insert(s);
	return out;
}

bool DaemonWatchdog::overran() const
{
	std::lock_guard lock(mu_);
	return shut_at_.has_value();
}

void DaemonWatchdog::loop()
{
	std::unique_lock lock(mu_);
	while (!quit_) {
		cv_.wait_for(lock, std::chrono::milliseconds(500));
		if (quit_ || calls_.empty())
			continue;
		const InFlight &oldest = calls_.begin()->second;
		if (clock_type::now() - oldest.start < limit_)
			continue;
		std::string what = oldest.what;
		if (shut_at_ && oldest.start < *shut_at_ && clock_type::now() - *shut_at_ >= limit_) {
			// The sockets went a limit ago and the call is still in:
			// it waits on this process, not on the daemon.
			if (!stuck_ && on_stuck_) {
				stuck_ = true;
				lock.unlock();
				on_stuck_(what + " is still blocked " + std::to_string(limit_.count()) +
					  " s after its connection was shut down");
				lock.lock();
			}
			continue;
		}
		// Every later call fails at once on the shut sockets; only the
		// first overrun is the news.
		bool first = !shut_at_;
		if (first)
			shut_at_ = clock_type::now();
		lock.unlock();
		if (first)
			on_overrun_(what + " did not return within " + std::to_string(limit_.count()) + " s");
		shut_sockets();
		lock.lock();
	}
}

void DaemonWatchdog::shut_sockets()
{
	SocketSet targets;
	bool adopted;
	{
		std::lock_guard lock(mu_);
		adopted = adopted_;
		targets = mine_;
	}
	if (!adopted)
		targets = new_since_opening();
	// shutdown(), not close(): the descriptor stays libvirt's to close, so
	// no number is reused under it; its blocked read sees end-of-file.
	for (const auto &[fd, ino] : targets) {
		struct stat st {};
		if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == ino)
			shutdown(fd, SHUT_RDWR);
	}
}

} // namespace luo::host
