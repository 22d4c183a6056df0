// SPDX-License-Identifier: GPL-2.0-only
#include "host/util/progress.hpp"

#include <cstdio>
#include <unistd.h>

namespace luo::host {

using clock = std::chrono::steady_clock;

Progress::Progress(std::string phase)
	: phase_(std::move(phase)), start_(clock::now()), tty_(isatty(STDERR_FILENO))
{
	draw(true);
}

Progress::~Progress()
{
	if (!finished_ && tty_)
		std::fputs("\n", stderr);
}

double Progress::elapsed() const
{
	return std::chrono::duration<double>(clock::now() - start_).count();
}

void Progress::update(const std::string &what)
{
	std::lock_guard lock(mutex_);
	what_ = what;
	draw(false);
}

void Progress::phase(const std::string &phase)
{
	std::lock_guard lock(mutex_);
	phase_ = phase;
	what_.clear();
	draw(true);
}

void Progress::finish(const std::string &summary)
{
	std::lock_guard lock(mutex_);
	what_ = summary;
	draw(true);
	if (tty_)
		std::fputs("\n", stderr);
	finished_ = true;
}

void Progress::draw(bool force)
{
	auto now = clock::now();
	// A log file wants a line now and then, a terminal can take ten a second.
	auto gap = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(15000);
	if (!force && now - last_draw_ < gap)
		return;
	last_draw_ = now;
	int secs = static_cast<int>(elapsed());
	std::string what = what_.size() > 70 ? what_.substr(0, 67) + "..." : what_;
	std::fprintf(stderr, tty_ ? "\r\033[K[%s] %02d:%02d %s" : "[%s] %02d:%02d %s\n",
		     phase_.c_str(), secs / 60, secs % 60, what.c_str());
	std::fflush(stderr);
}

} // namespace luo::host
