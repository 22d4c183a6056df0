// SPDX-License-Identifier: GPL-2.0-only
//
// The strict contract (dependency preserved first, retrieved first), and a
// third, made-up contract: the oracle is a model driven by rule switches,
// not a table of answers.
#include <catch2/catch_test_macros.hpp>

#include "contracts.hpp"
#include "core/expand.hpp"
#include "core/oracle.hpp"
#include "oracle_table.hpp"

using namespace luo::core;
using namespace luo::test;

namespace {

Oracle strict() { return Oracle(luo::test::shipped("strict"), objects()); }

} // namespace

TEST_CASE("strict S1: the dependency must be preserved first", "[oracle][strict]")
{
	Oracle o = strict();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "gmem", 2, "ENOENT", "S1"},
		       {Op::preserve, "s", "vfio", 4, "ENOENT", "S1"},
		       {Op::preserve, "s", "mem", 5, "ok", "C1"},
		       // The failure changed nothing: token 2 and the file are free.
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "S1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
	       });
}

TEST_CASE("strict S1: a dependency in another session does not count", "[oracle][strict]")
{
	Oracle o = strict();
	run(o, kSetup);
	run(o, {
		       {Op::session_create, "t", "", 0, "ok", "setup"},
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "t", "gmem", 2, "ENOENT", "S1"},
		       // Under strict no dependent gets preserved alone, so the
		       // kexec has nothing to refuse (C2 never fires).
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "t", "", 0, "ok", "LUO"},
		       {Op::retrieve, "t", "gmem", 2, "ENOENT", "C7"},
	       });
}

TEST_CASE("strict S1: the dependency closed away with its session", "[oracle][strict]")
{
	Oracle o = strict();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "S1"},
		       {Op::session_close, "s", "", 0, "ok", "C8"},
		       {Op::session_create, "s", "", 0, "ok", "setup"},
		       {Op::preserve, "s", "gmem", 2, "ENOENT", "S1"},
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "S1"},
	       });
}

TEST_CASE("strict S3: the dependency must be retrieved first", "[oracle][strict]")
{
	Oracle o = strict();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "S1"},
		       {Op::preserve, "s", "iommu", 3, "ok", "C1"},
		       {Op::preserve, "s", "vfio", 4, "ok", "S1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "gmem", 2, "ENOENT", "S3"},
		       {Op::retrieve, "s", "gmem", 2, "ENOENT", "S3"},  // not sticky
		       {Op::retrieve, "s", "vm", 1, "ok", "C3"},
		       {Op::retrieve, "s", "gmem", 2, "ok", "S3"},
		       {Op::verify, "", "gmem", 0, "ok", "C3"},
		       // C4 as agreed: vfio not retrieved, nothing waits.
		       {Op::finish, "s", "", 0, "ok", "C5"},
	       });
}

TEST_CASE("strict: the busy-left story never gets a dependent back", "[oracle][strict][expand]")
{
	check_only_case(kBusyLeftFour, luo::test::shipped("strict"), then(kCreateFour, {
		{Op::preserve, "s", "vfio", 4, "ENOENT", "S1"},
		{Op::preserve, "s", "iommu", 3, "ok", "C1"},
		{Op::preserve, "s", "gmem", 2, "ENOENT", "S1"},
		{Op::preserve, "s", "vm", 1, "ok", "C1"},
		{Op::kexec, "", "", 0, "ok", "C2"},
		{Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		{Op::retrieve, "s", "vfio", 4, "ENOENT", "C7"},
		{Op::retrieve, "s", "gmem", 2, "ENOENT", "C7"},
		// Nothing retrieved: FINISH discards both dependencies.
		{Op::finish, "s", "", 0, "ok", "C5"},
		{Op::retrieve, "s", "iommu", 3, "ENOENT", "C5"},
		{Op::retrieve, "s", "vm", 1, "ENOENT", "C5"},
	}));
}

TEST_CASE("strict S3: a dependency whose fd never reached userspace is not retrieved first", "[oracle][strict]")
{
	Oracle o = strict();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "S1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       // S3 refuses before anything is retrieved, reply or not.
		       {Op::retrieve_unwritable, "s", "gmem", 2, "ENOENT", "S3"},
		       {Op::retrieve_unwritable, "s", "vm", 1, "EFAULT", "LUO"},
		       {Op::retrieve, "s", "gmem", 2, "ENOENT", "S3"},
		       {Op::finish, "s", "", 0, "ok", "C5"},
	       });

	Oracle p = strict();
	run(p, kSetup);
	run(p, {
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "S1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve_unwritable, "s", "vm", 1, "EFAULT", "LUO"},
		       {Op::retrieve, "s", "vm", 1, "ok", "C3"},
		       {Op::retrieve, "s", "gmem", 2, "ok", "S3"},
		       {Op::retrieve_unwritable, "s", "gmem", 2, "EFAULT", "LUO"},
		       {Op::verify, "", "gmem", 0, "ok", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C4"},
	       });
}

TEST_CASE("strict: C5, C6, C7 and C8 are as agreed", "[oracle][strict]")
{
	Oracle o = strict();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "evt", 6, "ENOENT", "C7"},
		       {Op::preserve, "s", "mem", 5, "ok", "C1"},
		       {Op::preserve, "s", "vm", 5, "EEXIST", "C7"},
		       {Op::preserve, "s", "mem", 7, "EBUSY", "C7"},
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "", 999, "ENOENT", "C7"},
		       {Op::retrieve, "s", "mem", 5, "ok", "C3"},
		       {Op::same_object, "s", "mem", 5, "ok", "C6"},
		       {Op::finish, "s", "", 0, "ok", "C5"},
		       {Op::retrieve, "s", "vm", 1, "ENOENT", "C5"},
	       });
}

TEST_CASE("a third contract: no freeze check, no internal retrieval", "[oracle]")
{
	Contract lax = Contract::agreed();
	lax.name = "lax";
	lax.rules.freeze_needs_dependency = false;
	lax.rules.retrieve_binds_dependency = false;
	lax.rules.finish_needs_user_dependency = false;
	Oracle o(lax, objects());
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "gmem", 2, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       // Its dependency never crossed: the errno is not specified.
		       {Op::retrieve, "s", "gmem", 2, "error", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C5"},
	       });
}
