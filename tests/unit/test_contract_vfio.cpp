// SPDX-License-Identifier: GPL-2.0-only
//
// kinds.vfio-cdev beyond D1: what a retrieve returns, FINISH with the device
// preserved, the open paths D1 covers, and where each rule comes from.  The
// defaults are the agreed contract.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "contracts.hpp"
#include "core/contract.hpp"
#include "core/scenario.hpp"
#include "host/run/contracts.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"

using namespace luo;
using Catch::Matchers::ContainsSubstring;
using core::Contract;

namespace {

const auto error_of = &test::contract_error_of;

std::string vfio(const std::string &body)
{
	return R"({"kinds": {"vfio-cdev": )" + body + "}}";
}

} // namespace

TEST_CASE("vfio rules are the agreed ones in every shipped file but posted-2026", "[contract][vfio]")
{
	const core::VfioRules agreed;
	CHECK_FALSE(agreed.retrieve_unbound);
	CHECK_FALSE(agreed.finish_refuses_unretrieved);
	CHECK_FALSE(agreed.finish_until_bound);
	CHECK_FALSE(agreed.open_group);
	for (const auto &name : test::shipped_names()) {
		INFO(name);
		if (name != "posted-2026")
			CHECK(test::shipped(name).vfio == agreed);
	}
}

TEST_CASE("the posted vfio rules parse with their provenance", "[contract][vfio]")
{
	const Contract c = test::shipped("posted-2026");
	const core::RuleSource v5{"<20260714151505.3466855-11-vipinsh@google.com>", "v5", "2026-07-14"};
	CHECK(c.vfio.retrieve_unbound);
	CHECK(c.vfio.finish_refuses_unretrieved);
	CHECK(c.vfio.finish_until_bound);
	CHECK(c.vfio.finish_err == "EBUSY");
	CHECK(c.vfio.retrieve_source == v5);
	CHECK(c.vfio.finish_source == v5);
	CHECK(c.vfio.open_group);
	CHECK(c.vfio.open_source ==
	      core::RuleSource{"<20260129212510.967611-9-dmatlack@google.com>", "v2", "2026-01-29"});
	CHECK(c.vfio_cdev.open_needs_retrieve);
	CHECK(c.vfio_cdev.open_err == "EBUSY");
	// What makes the reference series behave so, and the line that shows it did.
	CHECK_THAT(c.kernel_cmdline, ContainsSubstring("vfio.luo_retrieve=unbound"));
}

TEST_CASE("each vfio rule is read on its own", "[contract][vfio]")
{
	auto c = core::parse_contract(vfio(R"({"retrieve": {"returns": "unbound"}})"), "c.json");
	CHECK(c.vfio.retrieve_unbound);
	CHECK_FALSE(c.vfio.finish_refuses_unretrieved);
	CHECK(c.vfio.retrieve_source.empty());

	c = core::parse_contract(vfio(R"({"finish": {"unretrieved": "refuse", "error": "EAGAIN"}})"), "c.json");
	CHECK(c.vfio.finish_refuses_unretrieved);
	CHECK_FALSE(c.vfio.finish_until_bound);
	CHECK(c.vfio.finish_err == "EAGAIN");
	CHECK_FALSE(c.vfio.retrieve_unbound);

	c = core::parse_contract(vfio(R"({"open": {"paths": ["group", "cdev"]}})"), "c.json");
	CHECK(c.vfio.open_group);
	// paths leave D1's own answer as it was.
	CHECK(c.vfio_cdev.open_needs_retrieve);

	c = core::parse_contract(vfio(R"({"open": {"before_retrieve": "accept", "paths": ["cdev"]}})"),
				 "c.json");
	CHECK_FALSE(c.vfio.open_group);
	CHECK_FALSE(c.vfio_cdev.open_needs_retrieve);
}

TEST_CASE("bad vfio rules are refused with their place and fix", "[contract][vfio]")
{
	CHECK_THAT(error_of(vfio(R"({"retrieve": {"returns": "half"}})")),
		   ContainsSubstring("/kinds/vfio-cdev/retrieve/returns") &&
			   ContainsSubstring("\"bound\"") && ContainsSubstring("\"unbound\""));
	CHECK_THAT(error_of(vfio(R"({"finish": {"until": "bound"}})")),
		   ContainsSubstring("/kinds/vfio-cdev/finish/until") &&
			   ContainsSubstring("\"unretrieved\": \"refuse\""));
	CHECK_THAT(error_of(vfio(R"({"finish": {"unretrieved": "discard", "error": "EBUSY"}})")),
		   ContainsSubstring("/kinds/vfio-cdev/finish/error"));
	CHECK_THAT(error_of(vfio(R"({"finish": {"unretrieved": "refuse", "until": "opened"}})")),
		   ContainsSubstring("'opened' is not an answer"));
	CHECK_THAT(error_of(vfio(R"({"finish": {"unretrieved": "wait"}})")),
		   ContainsSubstring("\"discard\""));
	CHECK_THAT(error_of(vfio(R"({"open": {"paths": ["group"]}})")),
		   ContainsSubstring("/kinds/vfio-cdev/open/paths") && ContainsSubstring("always covers the cdev"));
	CHECK_THAT(error_of(vfio(R"({"open": {"paths": ["cdev", "cdev"]}})")),
		   ContainsSubstring("/kinds/vfio-cdev/open/paths/1") && ContainsSubstring("twice"));
	CHECK_THAT(error_of(vfio(R"({"open": {"paths": ["cdev", "sysfs"]}})")),
		   ContainsSubstring("'sysfs' is not an open path"));
	CHECK_THAT(error_of(vfio(R"({"open": {"paths": []}})")), ContainsSubstring("a list of open paths"));
	CHECK_THAT(error_of(vfio(R"({"retrieve": {"returns": "unbound", "bind": true}})")),
		   ContainsSubstring("unknown field 'bind'"));
	// Line and column point at the bad value.
	CHECK_THAT(error_of("{\"kinds\": {\"vfio-cdev\": {\n  \"retrieve\": {\"returns\": 1}}}}"),
		   ContainsSubstring("c.json:2:"));
}

TEST_CASE("a rule's source is checked like any other field", "[contract][vfio]")
{
	auto src = [](const std::string &s) {
		return error_of(vfio(R"({"retrieve": {"returns": "unbound", "source": )" + s + "}}"));
	};
	CHECK(src(R"({"message_id": "<a.b@c.d>", "version": "v5", "date": "2026-07-14"})") == "(accepted)");
	CHECK(src(R"({"message_id": "<a.b@c.d>", "version": "RFC v2"})") == "(accepted)");
	CHECK_THAT(src(R"({"message_id": "a.b@c.d", "version": "v5"})"),
		   ContainsSubstring("/source/message_id") && ContainsSubstring("angle brackets"));
	CHECK_THAT(src(R"({"message_id": "<a.b.c.d>", "version": "v5"})"), ContainsSubstring("not a message-id"));
	CHECK_THAT(src(R"({"message_id": "<a.b@c.d>"})"), ContainsSubstring("\"version\""));
	CHECK_THAT(src(R"({"message_id": "<a.b@c.d>", "version": ""})"), ContainsSubstring("/source/version"));
	CHECK_THAT(src(R"({"message_id": "<a.b@c.d>", "version": "v5", "date": "14 July 2026"})"),
		   ContainsSubstring("/source/date") && ContainsSubstring("YYYY-MM-DD"));
	CHECK_THAT(src(R"({"message_id": "<a.b@c.d>", "version": "v5", "url": "x"})"),
		   ContainsSubstring("unknown field 'url'"));
}
