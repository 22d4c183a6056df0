// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/schedule.hpp"

#include <algorithm>
#include <charconv>

#include "core/prng.hpp"
#include "host/util/errors.hpp"

namespace luo::host {

namespace {

const char *kForms = "sequential, reversed, round-robin, random:SEED or threads:N (N 2 to 16)";

template <typename T>
bool number(const std::string &s, T &out)
{
	auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
	return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

} // namespace

Schedule parse_schedule(const std::string &text)
{
	using K = Schedule::Kind;
	Schedule s;
	auto colon = text.find(':');
	std::string name = text.substr(0, colon);
	std::string arg = colon == std::string::npos ? "" : text.substr(colon + 1);
	bool has_arg = colon != std::string::npos;
	if (name == "sequential" && !has_arg)
		s.kind = K::sequential;
	else if (name == "reversed" && !has_arg)
		s.kind = K::reversed;
	else if (name == "round-robin" && !has_arg)
		s.kind = K::round_robin;
	else if (name == "random" && number(arg, s.seed))
		s.kind = K::random;
	else if (name == "threads" && number(arg, s.threads) && s.threads >= 2 && s.threads <= 16)
		s.kind = K::threads;
	else
		throw SetupError("--schedule " + text + ": expected " + kForms);
	return s;
}

std::string to_string(const Schedule &s)
{
	using K = Schedule::Kind;
	switch (s.kind) {
	case K::sequential: return "sequential";
	case K::reversed: return "reversed";
	case K::round_robin: return "round-robin";
	case K::random: return "random:" + std::to_string(s.seed);
	case K::threads: return "threads:" + std::to_string(s.threads);
	}
	return "?";
}

std::vector<std::pair<int, int>> interleave(const std::vector<int> &sizes, const Schedule &s)
{
	using K = Schedule::Kind;
	std::vector<std::pair<int, int>> out;
	int n = sizes.size();
	auto whole = [&](int k) {
		for (int i = 0; i < sizes[k]; i++)
			out.push_back({k, i});
	};
	switch (s.kind) {
	case K::sequential:
	case K::threads:
		for (int k = 0; k < n; k++)
			whole(k);
		break;
	case K::reversed:
		for (int k = n - 1; k >= 0; k--)
			whole(k);
		break;
	case K::round_robin: {
		int longest = n ? *std::max_element(sizes.begin(), sizes.end()) : 0;
		for (int i = 0; i < longest; i++)
			for (int k = 0; k < n; k++)
				if (i < sizes[k])
					out.push_back({k, i});
		break;
	}
	case K::random: {
		// Each draw picks among the cases with steps left, so every
		// interleaving of the cases' orders can come up.
		core::SplitMix64 rng(s.seed);
		std::vector<int> next(n, 0), open;
		for (int k = 0; k < n; k++)
			if (sizes[k])
				open.push_back(k);
		while (!open.empty()) {
			size_t j = rng.below(open.size());
			int k = open[j];
			out.push_back({k, next[k]++});
			if (next[k] == sizes[k])
				open.erase(open.begin() + j);
		}
		break;
	}
	}
	return out;
}

std::uint32_t thread_of(int k, const Schedule &s)
{
	if (s.kind != Schedule::Kind::threads)
		return 0;
	return 1 + k % s.threads;
}

std::vector<Schedule> default_schedules()
{
	return {parse_schedule("sequential"), parse_schedule("round-robin"),
		parse_schedule("threads:4"), parse_schedule("random:1")};
}

} // namespace luo::host
