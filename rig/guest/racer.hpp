// SPDX-License-Identifier: GPL-2.0-only
//
// --inject race: helper threads that change the objects the mock VMM holds
// while a Live Update call runs on them, the way a VMM's other threads do
// (a guest faulting memory in, a device model reshaping its IOMMU space).
// Each change is one the contract lets userspace make at any time and that
// leaves what the checks look at as it was, so the call's outcome and the
// restored object are judged as in a quiet run: a handler that snapshots
// an object without holding it still loses what the racers shifted, and a
// walk over freed objects shows on the debug kernel's console.
//
//   guest-memfd  allocates the layout's hole pages one at a time with
//                fallocate(), and punches them out again once all are in:
//                holes may be present after restore as long as they read
//                zero, and every written page must still be there
//   iommufd      allocates IOAS and destroys the older of the two it keeps:
//                one or two extra, empty IOAS at any time, so that a walk
//                of the context's objects always meets one that is about
//                to be destroyed
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "protocol/plan.hpp"

namespace luo::guest {

class Racer {
public:
	struct Target {
		const protocol::ObjectSpec *spec;
		int fd;
	};

	// The kinds above get a thread each; the others are left alone.
	explicit Racer(const std::vector<Target> &targets);
	~Racer();
	Racer(const Racer &) = delete;
	Racer &operator=(const Racer &) = delete;

	// Returns once every thread has tried its first change: a call that
	// ran before its racers got going was not raced.
	void wait_started();
	// The changes made so far.
	std::uint32_t changes() const { return changes_.load(); }
	// Stops and joins the threads; the changes they made in all.
	std::uint32_t stop();

private:
	void gmem(const protocol::ObjectSpec &spec, int fd);
	void iommufd(int fd);
	// Says a racer's first failed change on the console, where the host's
	// "the racers changed nothing" points; later ones would flood it.
	void failed(bool &said, const std::string &what);

	std::atomic<bool> stop_{false};
	std::atomic<std::uint32_t> changes_{0};
	std::atomic<unsigned> started_{0};
	std::vector<std::thread> threads_;
};

} // namespace luo::guest
