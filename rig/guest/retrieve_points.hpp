// SPDX-License-Identifier: GPL-2.0-only
//
// Which injection points a RETRIEVE_FD's fail-nth walk fails.  A failed
// retrieve is final, so each try spends a preserved copy of the object
// (protocol::copy_token), and the copies may be fewer than the points one
// retrieve passes (a KVM VM's: a few hundred on the debug kernel).
#pragma once

#include <cstddef>
#include <set>
#include <vector>

namespace luo::guest {

// Each of `untried` when the copies cover them; else as many as there are
// copies, the first and the last among them and the rest spread evenly by
// position, none twice.
std::vector<unsigned> pick_points(const std::vector<unsigned> &untried, unsigned copies);

// The walk over one retrieve's points 1..points with `copies` tries.  A try
// that is not hit says how many points that call passed; fewer than
// thought (the first copy's retrieve also made its dependency, the later
// ones find it made) and the walk spreads what copies are left over the
// untried points that remain.
class PointWalk {
public:
	PointWalk(unsigned points, unsigned copies);
	// The next point to fail, or 0 when the walk is over.
	unsigned next() const;
	// The try at n: hit, or not hit after passing `passed` points.
	void tried(unsigned n, bool hit, unsigned passed);
	// The points one retrieve passes, as far as the tries showed.
	unsigned points() const { return points_; }
	// Points up to points() that no try failed.
	unsigned untried() const;

private:
	void plan();
	unsigned points_;
	unsigned copies_;
	std::set<unsigned> tried_;
	std::vector<unsigned> plan_;
	std::size_t pos_ = 0;
};

} // namespace luo::guest
