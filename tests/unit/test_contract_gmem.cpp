// SPDX-License-Identifier: GPL-2.0-only
//
// kinds.guest-memfd: a guest_memfd frozen at PRESERVE_FD, its errno and the
// posted patch the rule is read from; the agreed contract leaves it writable.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "core/contract.hpp"
#include "contracts.hpp"
#include "core/scenario.hpp"

using namespace luo;
using Catch::Matchers::ContainsSubstring;

namespace {

const auto error_of = &test::contract_error_of;

} // namespace

TEST_CASE("guest_memfd frozen at PRESERVE_FD: off by default, on with its errno and source",
	  "[contract][gmem]")
{
	CHECK_FALSE(core::Contract::agreed().guest_memfd.preserve_freezes);
	CHECK_FALSE(core::parse_contract("{}", "c.json").guest_memfd.preserve_freezes);

	auto c = core::parse_contract(R"({"kinds": {"guest-memfd": {"preserve": {
	  "freezes": true, "error": "EACCES",
	  "source": {"message_id": "<a@b>", "version": "v2", "date": "2026-06-01"}}}}})",
				      "c.json");
	CHECK(c.guest_memfd.preserve_freezes);
	CHECK(c.guest_memfd.freeze_err == "EACCES");
	CHECK(c.guest_memfd.source.message_id == "<a@b>");
	CHECK(c.guest_memfd.source.version == "v2");
	CHECK(c.guest_memfd.source.date == "2026-06-01");

	auto d = core::parse_contract(R"({"kinds": {"guest-memfd": {"preserve": {"freezes": true}}}})",
				      "c.json");
	CHECK(d.guest_memfd.freeze_err == "EPERM");
}

TEST_CASE("a bad guest_memfd rule is refused with its place and the fix", "[contract][gmem]")
{
	CHECK_THAT(error_of(R"({"kinds": {"guest-memfd": {"preserve": {"freezes": "yes"}}}})"),
		   ContainsSubstring("/kinds/guest-memfd/preserve/freezes") &&
			   ContainsSubstring("expected true"));
	CHECK_THAT(error_of(R"({"kinds": {"guest-memfd": {"preserve": {"error": "EPERM"}}}})"),
		   ContainsSubstring("\"freezes\": true"));
	CHECK_THAT(error_of(R"({"kinds": {"guest-memfd": {"preserve": {"freezes": true,
	  "source": {"message_id": "nope", "version": "v2"}}}}})"),
		   ContainsSubstring("not a message-id"));
	CHECK_THAT(error_of(R"({"kinds": {"guest-memfd": {"preserve": {"freezes": true,
	  "source": {"message_id": "<a@b>"}}}}})"),
		   ContainsSubstring("\"version\""));
	CHECK_THAT(error_of(R"({"kinds": {"guest-memfd": {"finish": {}}}})"),
		   ContainsSubstring("unknown") || ContainsSubstring("finish"));
	CHECK_THAT(error_of(R"({"kinds": {"kvm-vm": {}}})"), ContainsSubstring("guest-memfd"));
}
