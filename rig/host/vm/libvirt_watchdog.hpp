// SPDX-License-Identifier: GPL-2.0-only
//
// A call into libvirt waits on its daemon for as long as the daemon takes:
// the client library has no timeout of its own, and its keepalive only
// notices a daemon whose event loop stopped, never one that hangs before the
// connection is open or whose worker is stuck on one call.  A gate that hangs
// there never says anything, so every call the rig makes to a daemon is
// bounded here: once one overruns its limit, the connection's sockets are
// shut down, the call fails at once, and the run sees a lost connection,
// which it already treats as infra trouble (the VMs move to another host, or
// the run ends with exit 3 naming the daemon).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include <sys/types.h>

namespace luo::host {

// The sockets this process has open, by descriptor and inode: the inode
// tells a descriptor number that was closed and reused from the one taken.
using SocketSet = std::set<std::pair<int, ino_t>>;
SocketSet open_sockets();

class DaemonWatchdog {
public:
	// on_overrun gets "virDomainIsActive of NAME did not return within N s"
	// once, from the watchdog's own thread, before the sockets are shut.
	// A call still blocked one more limit after that is not waiting on the
	// daemon at all but stuck in this process: on_stuck gets it, once.
	using Report = std::function<void(const std::string &)>;
	DaemonWatchdog(std::chrono::seconds limit, Report on_overrun, Report on_stuck = {});
	~DaemonWatchdog();
	DaemonWatchdog(const DaemonWatchdog &) = delete;
	DaemonWatchdog &operator=(const DaemonWatchdog &) = delete;

	// One call in flight, from construction to destruction.
	class Call {
	public:
		Call(DaemonWatchdog &w, std::string what);
		~Call();
		Call(const Call &) = delete;
		Call &operator=(const Call &) = delete;

	private:
		DaemonWatchdog &w_;
		uint64_t id_;
	};

	// The connection is being opened: sockets that appear from now on are
	// its own.  Until opened(), an overrun shuts whatever appeared since.
	void opening();
	// The connection is open: the sockets that appeared since opening()
	// are the ones to shut.
	void opened();
	bool overran() const;

private:
	struct InFlight {
		std::string what;
		std::chrono::steady_clock::time_point start;
	};
	void loop();
	void shut_sockets();
	SocketSet new_since_opening() const;

	std::chrono::seconds limit_;
	Report on_overrun_, on_stuck_;
	// Set at the first overrun, when the sockets were shut.
	std::optional<std::chrono::steady_clock::time_point> shut_at_;
	mutable std::mutex mu_;
	std::condition_variable cv_;
	// By id, which grows with time: the first is the oldest call.
	std::map<uint64_t, InFlight> calls_;
	uint64_t next_id_ = 1;
	SocketSet before_, mine_;
	bool adopted_ = false, stuck_ = false, quit_ = false;
	std::thread thread_;
};

} // namespace luo::host
