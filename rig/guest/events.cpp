// SPDX-License-Identifier: GPL-2.0-only
#include "events.hpp"

#include <chrono>
#include <cstdio>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "guest/uart_watch.hpp"

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
	watch_ = std::thread([this] { watch_output(); });
}

EventChannel::~EventChannel()
{
	if (watch_.joinable()) {
		{
			std::lock_guard lock(watch_mu_);
			stopping_ = true;
		}
		watch_cv_.notify_all();
		watch_.join();
	}
	if (fd_ >= 0) {
		drain();
		close(fd_);
	}
}

void EventChannel::watch_output()
{
	// Well inside the host's limit for a silent guest, well above what
	// 4 KiB take at 115200 baud.
	constexpr double kStall = 30;
	UartWatch watch(kStall);
	const auto start = std::chrono::steady_clock::now();
	std::unique_lock lock(watch_mu_);
	while (!watch_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
		int queued = 0;
		if (ioctl(fd_, TIOCOUTQ, &queued))
			return;
		std::chrono::duration<double> now = std::chrono::steady_clock::now() - start;
		if (watch.observe(queued, now.count())) {
			std::printf("luo-vmm: the event port has sent nothing for %d s with %d bytes "
				    "waiting: its UART stopped transmitting (no transmit interrupt), so "
				    "the host sees no event from here on and the VMM blocks once the "
				    "buffer is full\n",
				    static_cast<int>(kStall), queued);
			std::fflush(stdout);
		}
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
