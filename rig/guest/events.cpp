// SPDX-License-Identifier: GPL-2.0-only
#include "events.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

namespace luo::guest {

EventChannel::EventChannel(const char *path, std::uint32_t boot) : boot_(boot)
{
	fd_ = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd_ < 0) {
		fd_ = dup(STDOUT_FILENO);
		return;
	}
	// Raw mode: the tty layer must not turn "\n" into "\r\n" or echo.
	struct termios t;
	if (tcgetattr(fd_, &t) == 0) {
		cfmakeraw(&t);
		cfsetospeed(&t, B115200);
		tcsetattr(fd_, TCSANOW, &t);
	}
}

EventChannel::~EventChannel()
{
	if (fd_ >= 0) {
		drain();
		close(fd_);
	}
}

void EventChannel::emit(protocol::Event ev)
{
	std::lock_guard lock(mu_);
	ev.seq = seq_++;
	ev.boot = boot_;
	std::string line = protocol::event_to_json(ev) + "\n";
	const char *p = line.data();
	size_t left = line.size();
	while (left) {
		ssize_t n = write(fd_, p, left);
		if (n <= 0)
			return;
		p += n;
		left -= n;
	}
}

void EventChannel::drain()
{
	tcdrain(fd_);
}

} // namespace luo::guest
