// SPDX-License-Identifier: GPL-2.0-only
//
// The watchdog that bounds calls to a libvirt daemon, on a socket pair that
// stands in for the daemon's connection: a read that would block forever
// ends once the limit passes, and a call that returns in time is left be.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch_test_macros.hpp>

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "host/vm/libvirt_watchdog.hpp"

using namespace luo::host;
using namespace std::chrono;

namespace {

struct Pair {
	int fd[2] = {-1, -1};
	Pair()
	{
		REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fd) == 0);
		// A watchdog that never fires fails the test instead of hanging it.
		timeval tv{10, 0};
		setsockopt(fd[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	~Pair()
	{
		close(fd[0]);
		close(fd[1]);
	}
};

} // namespace

TEST_CASE("a call the daemon never answers ends at the limit, and says which", "[unit][libvirt]")
{
	std::vector<std::string> said;
	int stuck = 0;
	DaemonWatchdog w(seconds(1), [&](const std::string &what) { said.push_back(what); },
			 [&](const std::string &) { stuck++; });
	w.opening();
	Pair p;  // the "connection": opened after opening(), so it is the one shut
	auto t0 = steady_clock::now();
	char c;
	ssize_t n;
	{
		DaemonWatchdog::Call call(w, "virDomainIsActive of luo-rig-x");
		n = read(p.fd[0], &c, 1);  // nobody ever writes to fd[1]
	}
	auto took = duration<double>(steady_clock::now() - t0).count();
	CHECK(n == 0);  // end-of-file: the socket was shut under the read
	CHECK(took >= 1.0);
	CHECK(took < 10.0);
	CHECK(w.overran());
	REQUIRE(said.size() == 1);
	CHECK(said[0] == "virDomainIsActive of luo-rig-x did not return within 1 s");
	std::this_thread::sleep_for(milliseconds(1500));
	CHECK(stuck == 0);  // the shutdown freed the call: nothing stuck here
}

TEST_CASE("a call that the shutdown does not free is stuck in the process, and said once",
	  "[unit][libvirt]")
{
	int overruns = 0;
	std::vector<std::string> stuck;
	DaemonWatchdog w(seconds(1), [&](const std::string &) { overruns++; },
			 [&](const std::string &what) { stuck.push_back(what); });
	w.opening();
	w.opened();  // a connection of no sockets: nothing the shutdown frees
	{
		// Blocked on nothing the daemon could answer: a lock of our own.
		DaemonWatchdog::Call call(w, "virDomainDestroy of luo-rig-y");
		std::this_thread::sleep_for(milliseconds(3500));
	}
	CHECK(overruns == 1);
	REQUIRE(stuck.size() == 1);
	CHECK(stuck[0] == "virDomainDestroy of luo-rig-y is still blocked 1 s after its connection "
			  "was shut down");
}

TEST_CASE("an opened connection's sockets are shut, and no socket of anyone else", "[unit][libvirt]")
{
	Pair other;
	DaemonWatchdog w(seconds(1), [](const std::string &) {});
	w.opening();
	Pair mine;  // the connection: it appeared between opening() and opened()
	w.opened();
	SocketSet seen;
	for (const auto &s : open_sockets())
		if (s.first == mine.fd[0])
			seen.insert(s);
	REQUIRE(seen.size() == 1);
	char c;
	{
		DaemonWatchdog::Call call(w, "virConnectGetVersion");
		CHECK(read(mine.fd[0], &c, 1) == 0);
	}
	// The other pair still carries data both ways.
	REQUIRE(write(other.fd[1], "x", 1) == 1);
	CHECK(read(other.fd[0], &c, 1) == 1);
	CHECK(c == 'x');
}

TEST_CASE("a call that returns within the limit leaves the connection alone", "[unit][libvirt]")
{
	int overruns = 0;
	DaemonWatchdog w(seconds(1), [&](const std::string &) { overruns++; });
	w.opening();
	Pair p;
	w.opened();
	{
		DaemonWatchdog::Call call(w, "virDomainResume");
		REQUIRE(write(p.fd[1], "y", 1) == 1);
		char c;
		CHECK(read(p.fd[0], &c, 1) == 1);
	}
	// Past the limit with nothing in flight: nothing to shut.
	std::this_thread::sleep_for(milliseconds(1600));
	CHECK(overruns == 0);
	CHECK_FALSE(w.overran());
	REQUIRE(write(p.fd[1], "z", 1) == 1);
	char c;
	CHECK(read(p.fd[0], &c, 1) == 1);
}
