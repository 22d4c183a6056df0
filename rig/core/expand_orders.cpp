// SPDX-License-Identifier: GPL-2.0-only
#include "expand.hpp"

#include <algorithm>
#include <numeric>
#include <set>

#include "core/prng.hpp"

namespace luo::core {

namespace {

std::vector<Order> permutations(const Order &items)
{
	std::vector<std::size_t> idx(items.size());
	std::iota(idx.begin(), idx.end(), 0);
	std::vector<Order> out;
	do {
		Order o;
		for (auto i : idx)
			o.push_back(items[i]);
		out.push_back(std::move(o));
	} while (std::next_permutation(idx.begin(), idx.end()));
	return out;
}

// Every ordered subset, by size, then lexicographically by declaration
// index: the empty one first, the full permutations last.
std::vector<Order> ordered_subsets(const Order &items)
{
	std::vector<Order> out;
	std::vector<std::vector<std::size_t>> level{{}};
	for (std::size_t k = 0; k <= items.size(); k++) {
		for (const auto &seq : level) {
			Order o;
			for (auto i : seq)
				o.push_back(items[i]);
			out.push_back(std::move(o));
		}
		std::vector<std::vector<std::size_t>> next;
		for (const auto &seq : level)
			for (std::size_t i = 0; i < items.size(); i++)
				if (std::find(seq.begin(), seq.end(), i) == seq.end()) {
					auto s = seq;
					s.push_back(i);
					next.push_back(std::move(s));
				}
		level = std::move(next);
	}
	return out;
}

// Draws until `count` distinct orders or until 64 draws per wanted order
// found nothing new (the space may be smaller than `count`).
std::vector<Order> random_orders(const Order &items, const OrderSpec &spec, bool subsets)
{
	SplitMix64 rng(spec.seed);
	std::vector<Order> out;
	std::set<Order> seen;
	for (unsigned tries = 0; out.size() < spec.count && tries < spec.count * 64u; tries++) {
		Order o = items;
		shuffle(o, rng);
		if (subsets)
			o.resize(rng.below(o.size() + 1));
		if (seen.insert(o).second)
			out.push_back(std::move(o));
	}
	return out;
}

std::vector<Order> choose(const Order &items, const OrderSpec &spec, bool restore)
{
	switch (spec.mode) {
	case OrderSpec::Mode::all:
		return restore ? ordered_subsets(items) : permutations(items);
	case OrderSpec::Mode::all_orders:
		return permutations(items);
	case OrderSpec::Mode::declared:
		return {items};
	case OrderSpec::Mode::list:
		return spec.lists;
	case OrderSpec::Mode::random:
		return random_orders(items, spec, restore);
	}
	return {};
}

std::string joined(const Order &o)
{
	if (o.empty())
		return "-";
	std::string s;
	for (const auto &n : o)
		s += (s.empty() ? "" : ",") + n;
	return s;
}

} // namespace

std::vector<Order> preserve_orders(const Scenario &sc)
{
	return choose(sc.object_names(false), sc.preserve, false);
}

std::vector<Order> restore_orders(const Scenario &sc)
{
	return choose(sc.object_names(false), sc.restore, true);
}

std::string case_id(const Scenario &sc, const Order &preserve, const Order &restore)
{
	return sc.name + "/p:" + joined(preserve) + "/r:" + joined(restore);
}

} // namespace luo::core
