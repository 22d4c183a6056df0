// SPDX-License-Identifier: GPL-2.0-only
#include "retrieve_points.hpp"

#include <cstdint>

namespace luo::guest {

std::vector<unsigned> pick_points(const std::vector<unsigned> &untried, unsigned copies)
{
	const std::size_t k = untried.size();
	if (k <= copies)
		return untried;
	if (copies == 0)
		return {};
	if (copies == 1)
		return {untried.front()};
	// k > copies, so consecutive positions differ by at least one.
	std::vector<unsigned> out;
	for (unsigned j = 0; j < copies; j++)
		out.push_back(untried[static_cast<std::uint64_t>(j) * (k - 1) / (copies - 1)]);
	return out;
}

PointWalk::PointWalk(unsigned points, unsigned copies) : points_(points), copies_(copies)
{
	plan();
}

void PointWalk::plan()
{
	std::vector<unsigned> left;
	for (unsigned n = 1; n <= points_; n++)
		if (!tried_.count(n))
			left.push_back(n);
	plan_ = pick_points(left, copies_);
	pos_ = 0;
}

unsigned PointWalk::next() const
{
	return copies_ && pos_ < plan_.size() ? plan_[pos_] : 0;
}

void PointWalk::tried(unsigned n, bool hit, unsigned passed)
{
	copies_ = copies_ ? copies_ - 1 : 0;
	tried_.insert(n);
	pos_++;
	if (!hit && passed < points_) {
		points_ = passed;
		plan();
	}
}

unsigned PointWalk::untried() const
{
	unsigned n = 0;
	for (unsigned p = 1; p <= points_; p++)
		n += !tried_.count(p);
	return n;
}

} // namespace luo::guest
