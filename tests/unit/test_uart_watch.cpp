// SPDX-License-Identifier: GPL-2.0-only
//
// The event port's watch: bytes that wait without any leaving are a UART
// that stopped; a queue that drains, however slowly, is not.
#include <catch2/catch_test_macros.hpp>

#include "guest/uart_watch.hpp"

using luo::guest::UartWatch;

TEST_CASE("a UART queue that never shrinks is said once; one that drains never is",
	  "[unit][events]")
{
	UartWatch stuck(30);
	CHECK_FALSE(stuck.observe(0, 0));
	CHECK_FALSE(stuck.observe(120, 1));
	// New events only add to the queue: still nothing sent.
	CHECK_FALSE(stuck.observe(400, 20));
	CHECK_FALSE(stuck.observe(400, 30.5));
	CHECK(stuck.observe(4095, 31));
	CHECK_FALSE(stuck.observe(4095, 90));

	// A slow UART: the queue shrinks between looks, so it is at work.
	UartWatch slow(30);
	int queued = 4000;
	for (double t = 0; t < 200; t += 1) {
		CHECK_FALSE(slow.observe(queued, t));
		queued = queued > 100 ? queued - 20 : 4000 - static_cast<int>(t);
	}

	// Once it sends again, a later stall is said again.
	CHECK(stuck.observe(0, 100) == false);
	CHECK_FALSE(stuck.observe(10, 101));
	CHECK(stuck.observe(10, 131));
}
