// SPDX-License-Identifier: GPL-2.0-only
//
// One live status line on stderr (phase, elapsed time, what is happening),
// rewritten in place on a terminal and printed every few seconds otherwise.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

namespace luo::host {

class Progress {
public:
	explicit Progress(std::string phase);
	~Progress();

	void update(const std::string &what);
	void phase(const std::string &phase);
	void finish(const std::string &summary);
	double elapsed() const;

private:
	void draw(bool force);

	std::string phase_, what_;
	std::chrono::steady_clock::time_point start_, last_draw_;
	bool tty_;
	bool finished_ = false;
	std::mutex mutex_;
};

} // namespace luo::host
