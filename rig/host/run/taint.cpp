// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/taint.hpp"

namespace luo::host {

namespace {

// kernel/panic.c's taint_flags, bit by bit (Documentation/admin-guide/
// tainted-kernels.rst).  Bit 0 prints as G when clear; only set bits are
// named here.
constexpr char kLetters[] = "PFSRMBUDAWCIOELKXTNJ";

} // namespace

std::string taint_letters(std::uint64_t mask)
{
	std::string out;
	for (unsigned bit = 0; bit < 64; bit++) {
		if (!(mask & (std::uint64_t{1} << bit)))
			continue;
		if (bit < sizeof(kLetters) - 1)
			out += kLetters[bit];
		else
			out += "?" + std::to_string(bit);
	}
	return out;
}

std::uint64_t benign_taint()
{
	// Clean boots of the default and debug kernels under TCG and KVM
	// report 0: every bit is a report of some kind.
	return 0;
}

std::optional<ConsoleFinding> unexplained_taint(const std::vector<protocol::Event> &events)
{
	for (const auto &ev : events) {
		if (ev.type != protocol::EventType::taint)
			continue;
		std::uint64_t odd = ev.taint & ~benign_taint();
		if (!odd)
			continue;
		ConsoleFinding f;
		f.kind = "taint";
		f.title = "kernel tainted " + taint_letters(odd);
		f.text = "kernel tainted " + taint_letters(odd) + " in boot " +
			 std::to_string(ev.boot) + " (/proc/sys/kernel/tainted " +
			 std::to_string(ev.taint) + ") with no report the console scan knows";
		return f;
	}
	return std::nullopt;
}

} // namespace luo::host
