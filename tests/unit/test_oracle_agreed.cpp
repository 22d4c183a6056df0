// SPDX-License-Identifier: GPL-2.0-only
//
// The agreed contract, rule by rule, against tables derived by hand from
// docs/design.md section 3 and the 7.3 LUO source (not from the oracle).
#include <catch2/catch_test_macros.hpp>

#include "core/expand.hpp"
#include "core/oracle.hpp"
#include "oracle_table.hpp"

using namespace luo::core;
using namespace luo::test;

namespace {

Oracle agreed() { return Oracle(Contract::agreed(), objects()); }

} // namespace

TEST_CASE("agreed C1: preserve succeeds in any order", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "gmem", 2, "ok", "C1"},
		       {Op::preserve, "s", "vfio", 4, "ok", "C1"},
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "iommu", 3, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
	       });
	CHECK(o.boot() == 1);
}

TEST_CASE("agreed C2: kexec refused without the dependency, retry succeeds", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "gmem", 2, "ok", "C1"},
		       {Op::preserve, "s", "mem", 5, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ENOENT", "C2"},
		       // Nothing lost, session still usable, objects still ours.
		       {Op::verify, "", "gmem", 0, "ok", "setup"},
		       {Op::preserve, "s", "mem", 6, "EBUSY", "C7"},
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "gmem", 2, "ok", "C3"},
		       {Op::retrieve, "s", "mem", 5, "ok", "C3"},
	       });
	CHECK(o.boot() == 1);
}

TEST_CASE("agreed C2: a dependency in another session refuses the kexec", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::session_create, "t", "", 0, "ok", "setup"},
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "t", "gmem", 2, "ok", "C1"},
		       {Op::preserve, "t", "iommu", 3, "ok", "C1"},
		       {Op::preserve, "t", "vfio", 4, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ENOENT", "C2"},
		       // The VM cannot join its dependent: it is preserved once.
		       {Op::preserve, "t", "vm", 1, "EBUSY", "C7"},
		       // Closing "s" releases it (C8); then it can move.
		       {Op::session_close, "s", "", 0, "ok", "C8"},
		       {Op::preserve, "t", "vm", 1, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ENOENT", "LUO"},
		       {Op::session_retrieve, "t", "", 0, "ok", "LUO"},
	       });
}

TEST_CASE("agreed C3: retrieve in any order, the dependency is bound internally", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "gmem", 2, "ok", "C3"},
		       // The guest checks gmem through its VM's fd, which it
		       // does not have yet: the kernel is never asked.
		       {Op::verify, "", "gmem", 0, "error", "stale"},
	       });
	CHECK(o.has_fd("gmem"));
	check_kernel_only(o, "vm");
	run(o, {
		       {Op::retrieve, "s", "vm", 1, "ok", "C3"},
		       {Op::verify, "", "vm", 0, "ok", "C3"},
		       {Op::verify, "", "gmem", 0, "ok", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C4"},
	       });
}

TEST_CASE("agreed: a FINISH left busy plans no check the guest cannot make", "[oracle][agreed][expand]")
{
	check_only_case(kBusyLeftFour, Contract::agreed(), then(kCreateFour, {
		{Op::preserve, "s", "vfio", 4, "ok", "C1"},
		{Op::preserve, "s", "iommu", 3, "ok", "C1"},
		{Op::preserve, "s", "gmem", 2, "ok", "C1"},
		{Op::preserve, "s", "vm", 1, "ok", "C1"},
		{Op::kexec, "", "", 0, "ok", "C2"},
		{Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		// The kernel brings iommu and vm back for their dependents;
		// userspace holds neither, so neither dependent can be checked.
		{Op::retrieve, "s", "vfio", 4, "ok", "C3"},
		{Op::retrieve, "s", "gmem", 2, "ok", "C3"},
		{Op::finish, "s", "", 0, "EBUSY", "C4"},
		// "leave": no retry.  Each dependent is checked once its
		// dependency's fd arrives, which also shows the busy FINISH
		// tore nothing down.
		{Op::retrieve, "s", "iommu", 3, "ok", "C3"},
		{Op::verify, "", "iommu", 0, "ok", "C3"},
		{Op::verify, "", "vfio", 0, "ok", "C3"},
		{Op::retrieve, "s", "vm", 1, "ok", "C3"},
		{Op::verify, "", "vm", 0, "ok", "C3"},
		{Op::verify, "", "gmem", 0, "ok", "C3"},
		{Op::run_vcpu, "", "gmem", 0, "ok", "C3"},
	}));
}

TEST_CASE("agreed C4: FINISH waits for explicitly retrieved dependencies", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "vfio", 4, "ok", "C1"},
		       {Op::preserve, "s", "iommu", 3, "ok", "C1"},
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "vfio", 4, "ok", "C3"},
		       {Op::retrieve, "s", "gmem", 2, "ok", "C3"},
		       {Op::finish, "s", "", 0, "EBUSY", "C4"},
	       });
	CHECK(o.finish_blockers("s") == std::vector<std::string>{"iommu", "vm"});
	run(o, {
		       // Nothing was torn down: retrieval still works.
		       {Op::retrieve, "s", "iommu", 3, "ok", "C3"},
		       {Op::finish, "s", "", 0, "EBUSY", "C4"},
		       {Op::retrieve, "s", "vm", 1, "ok", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C4"},
	       });
}

TEST_CASE("agreed C4: a dependency retrieved alone does not block", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "vm", 1, "ok", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C5"},
	       });
}

TEST_CASE("agreed C4: a file whose fd never reached userspace was not retrieved by it", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "C1"},
		       {Op::preserve, "s", "mem", 5, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve_unwritable, "s", "", 999, "ENOENT", "C7"},
		       {Op::retrieve, "s", "gmem", 2, "ok", "C3"},
		       // The kernel retrieves the VM, then cannot write the fd
		       // number back: no fd is installed.
		       {Op::retrieve_unwritable, "s", "vm", 1, "EFAULT", "LUO"},
		       {Op::verify, "", "vm", 0, "error", "stale"},
		       {Op::finish, "s", "", 0, "EBUSY", "C4"},
	       });
	check_kernel_only(o, "vm");
	CHECK(o.finish_blockers("s") == std::vector<std::string>{"vm"});
	run(o, {
		       // The same token the normal way: the file the kernel kept.
		       {Op::retrieve, "s", "vm", 1, "ok", "C3"},
		       {Op::verify, "", "gmem", 0, "ok", "C3"},
		       // Losing the reply again takes nothing from userspace.
		       {Op::retrieve_unwritable, "s", "vm", 1, "EFAULT", "LUO"},
		       {Op::verify, "", "vm", 0, "ok", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C5"},
		       {Op::retrieve_unwritable, "s", "mem", 5, "ENOENT", "C5"},
	       });
}

TEST_CASE("agreed C4: a dependency only the kernel holds blocks nothing by itself", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "iommu", 3, "ok", "C1"},
		       {Op::preserve, "s", "vfio", 4, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve_unwritable, "s", "iommu", 3, "EFAULT", "LUO"},
		       {Op::finish, "s", "", 0, "ok", "C5"},
		       {Op::retrieve, "s", "iommu", 3, "ENOENT", "C5"},
	       });
}

TEST_CASE("agreed: the retrieve-unwritable story, step by step", "[oracle][agreed][expand]")
{
	const char *text = R"({"name": "u", "objects": {"vm": "kvm-vm", "gmem": "guest-memfd"},
	  "preserve": "declared", "restore": [["gmem", "vm"]],
	  "faults": [{"action": "retrieve-unwritable", "object": "vm"}]})";
	check_only_case(text, Contract::agreed(), {
		{Op::create, "", "vm", 0, "ok", "setup"},
		{Op::create, "", "gmem", 0, "ok", "setup"},
		{Op::session_create, "s", "", 0, "ok", "setup"},
		{Op::preserve, "s", "vm", 1, "ok", "C1"},
		{Op::preserve, "s", "gmem", 2, "ok", "C1"},
		{Op::kexec, "", "", 0, "ok", "C2"},
		{Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		{Op::retrieve, "s", "gmem", 2, "ok", "C3"},
		{Op::retrieve_unwritable, "s", "vm", 1, "EFAULT", "LUO"},
		{Op::finish, "s", "", 0, "EBUSY", "C4"},
		{Op::retrieve, "s", "vm", 1, "ok", "C3"},
		{Op::verify, "", "vm", 0, "ok", "C3"},
		{Op::verify, "", "gmem", 0, "ok", "C3"},
		{Op::run_vcpu, "", "gmem", 0, "ok", "C3"},
		{Op::finish, "s", "", 0, "ok", "C4"},
		{Op::verify, "", "vm", 0, "ok", "C3"},
		{Op::verify, "", "gmem", 0, "ok", "C3"},
	});
}

TEST_CASE("agreed C4 with several sessions: each session finishes on its own", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::session_create, "t", "", 0, "ok", "setup"},
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "C1"},
		       {Op::preserve, "t", "iommu", 1, "ok", "C1"},  // tokens are per session
		       {Op::preserve, "t", "vfio", 2, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::session_retrieve, "t", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "gmem", 2, "ok", "C3"},
		       {Op::retrieve, "t", "vfio", 2, "ok", "C3"},
		       {Op::finish, "s", "", 0, "EBUSY", "C4"},
		       {Op::finish, "t", "", 0, "EBUSY", "C4"},
		       {Op::retrieve, "t", "iommu", 1, "ok", "C3"},
		       {Op::finish, "t", "", 0, "ok", "C4"},
		       {Op::finish, "s", "", 0, "EBUSY", "C4"},
	       });
}

TEST_CASE("agreed C5: unretrieved files are discarded at FINISH", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "mem", 5, "ok", "C1"},
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "mem", 5, "ok", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C5"},
		       {Op::retrieve, "s", "vm", 1, "ENOENT", "C5"},
		       {Op::finish, "s", "", 0, "ok", "LUO"},
		       {Op::verify, "", "mem", 0, "ok", "C3"},
	       });
}

TEST_CASE("agreed C6: retrieving twice gives the same object", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "mem", 5, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "mem", 5, "ok", "C3"},
		       {Op::same_object, "s", "mem", 5, "ok", "C6"},
		       {Op::retrieve, "s", "mem", 5, "ok", "C6"},
		       {Op::finish, "s", "", 0, "ok", "C4"},
	       });
}

TEST_CASE("agreed C7: each misuse has its errno and changes nothing", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::session_create, "t", "", 0, "ok", "setup"},
		       {Op::session_create, "t", "", 0, "EEXIST", "LUO"},
		       {Op::preserve, "s", "mem", 5, "ok", "C1"},
		       {Op::preserve, "s", "evt", 6, "ENOENT", "C7"},     // unsupported fd
		       {Op::preserve, "s", "vm", 5, "EEXIST", "C7"},      // token in use
		       {Op::preserve, "s", "mem", 5, "EEXIST", "C7"},     // token checked first
		       {Op::preserve, "s", "mem", 7, "EBUSY", "C7"},      // same file, same session
		       {Op::preserve, "t", "mem", 5, "EBUSY", "C7"},      // same file, other session
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::session_retrieve, "s", "", 0, "EINVAL", "LUO"},
		       {Op::retrieve, "s", "", 999, "ENOENT", "C7"},      // unknown token
		       {Op::retrieve, "s", "evt", 6, "ENOENT", "C7"},     // never preserved
		       {Op::retrieve, "s", "mem", 5, "ok", "C3"},
		       {Op::verify, "", "mem", 0, "ok", "C3"},
		       {Op::retrieve, "s", "vm", 1, "ok", "C3"},
		       {Op::session_retrieve, "t", "", 0, "ok", "LUO"},   // empty session survives
		       {Op::retrieve, "t", "mem", 5, "ENOENT", "C7"},
		       {Op::finish, "t", "", 0, "ok", "C4"},
		       {Op::finish, "s", "", 0, "ok", "C4"},
	       });
}

TEST_CASE("agreed C8: closing a session unpreserves its files", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "C1"},
		       {Op::session_close, "s", "", 0, "ok", "C8"},
		       {Op::preserve, "s", "vm", 1, "error", "stale"},    // no session fd
		       {Op::session_create, "t", "", 0, "ok", "setup"},
		       {Op::preserve, "t", "vm", 1, "ok", "C1"},
		       {Op::preserve, "t", "gmem", 2, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ENOENT", "LUO"},
		       {Op::session_retrieve, "t", "", 0, "ok", "LUO"},
		       {Op::retrieve, "t", "vm", 1, "ok", "C3"},
	       });
}

TEST_CASE("agreed: plain LUO behaviour across a second kexec", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "mem", 5, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::preserve, "s", "mem", 5, "error", "stale"},   // old session fd is gone
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "mem", 5, "ok", "C3"},
		       {Op::preserve, "s", "mem", 5, "EINVAL", "LUO"},    // incoming session
		       {Op::session_create, "n", "", 0, "ok", "setup"},
		       // Retrieved but not finished: still in the global xarray.
		       {Op::preserve, "n", "mem", 1, "EBUSY", "C7"},
		       {Op::finish, "s", "", 0, "ok", "C4"},
		       {Op::preserve, "n", "mem", 1, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ENOENT", "LUO"},
		       {Op::session_retrieve, "n", "", 0, "ok", "LUO"},
		       {Op::retrieve, "n", "mem", 1, "ok", "C3"},
	       });
	CHECK(o.boot() == 2);
}

// A VM and its guest_memfd preserved in session s, the kexec, and s
// retrieved in the new kernel: where the tests of an incoming session start.
const std::vector<Row> kGmemAcross = {
	{Op::preserve, "s", "vm", 1, "ok", "C1"},
	{Op::preserve, "s", "gmem", 2, "ok", "C1"},
	{Op::kexec, "", "", 0, "ok", "C2"},
	{Op::session_retrieve, "s", "", 0, "ok", "LUO"},
};

TEST_CASE("agreed: an unfinished incoming session does not survive a kexec", "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, kGmemAcross);
	run(o, {
		       {Op::retrieve, "s", "gmem", 2, "ok", "C3"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ENOENT", "LUO"},
		       {Op::verify, "", "gmem", 0, "error", "stale"},
	       });
}

TEST_CASE("agreed C4: a busy incoming session closed is retrieved again, as it was",
	  "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, kGmemAcross);
	run(o, {
		       {Op::retrieve, "s", "gmem", 2, "ok", "C3"},
		       // close(2) returns 0 even though release() could not finish.
		       {Op::session_close, "s", "", 0, "ok", "C4"},
		       {Op::retrieve, "s", "vm", 1, "error", "stale"},  // no session fd
		       // Nothing was torn down: the session and its files are there.
		       {Op::session_retrieve, "s", "", 0, "ok", "C4"},
		       {Op::same_object, "s", "gmem", 2, "ok", "C6"},
		       {Op::finish, "s", "", 0, "EBUSY", "C4"},
		       {Op::retrieve, "s", "vm", 1, "ok", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C4"},
		       // A finished session is released at its close: gone.
		       {Op::session_close, "s", "", 0, "ok", "C4"},
		       {Op::session_retrieve, "s", "", 0, "ENOENT", "LUO"},
	       });
}

TEST_CASE("agreed C4: a session that can finish is finished by its close, and gone",
	  "[oracle][agreed]")
{
	Oracle o = agreed();
	run(o, kSetup);
	run(o, kGmemAcross);
	run(o, {
		       {Op::retrieve, "s", "vm", 1, "ok", "C3"},
		       {Op::session_close, "s", "", 0, "ok", "C4"},
		       {Op::session_retrieve, "s", "", 0, "ENOENT", "LUO"},
		       // gmem was dropped with it (C5); vm is the VMM's.
		       {Op::verify, "", "vm", 0, "ok", "C3"},
	       });
}

TEST_CASE("agreed: a file whose fd the VMM closed after PRESERVE_FD crosses anyway", "[oracle][agreed]")
{
	// LUO took its own reference at PRESERVE_FD (luo_file.c:245,281); the
	// contract says nothing about the VMM's fd, so the kexec, the
	// retrieves in any order and every check succeed as if it were open.
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "gmem", 2, "ok", "C1"},
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::preserve, "s", "mem", 5, "ok", "C1"},
		       {Op::close_object, "", "vm", 0, "ok", "setup"},
		       {Op::close_object, "", "gmem", 0, "ok", "setup"},
		       {Op::close_object, "", "mem", 0, "ok", "setup"},
		       {Op::close_object, "", "mem", 0, "error", "stale"},  // nothing left to close
		       {Op::preserve, "s", "mem", 6, "error", "stale"},     // no fd to pass
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "gmem", 2, "ok", "C3"},
		       {Op::retrieve, "s", "mem", 5, "ok", "C3"},
		       {Op::verify, "", "mem", 0, "ok", "C3"},
		       {Op::retrieve, "s", "vm", 1, "ok", "C3"},
		       {Op::verify, "", "gmem", 0, "ok", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C4"},
	       });
}

TEST_CASE("agreed: closing a dependency's fd does not hide it from the freeze", "[oracle][agreed]")
{
	// The handler finds the dependency by its file, which LUO keeps: the
	// kexec is refused only for what is really missing (C2).
	Oracle o = agreed();
	run(o, kSetup);
	run(o, {
		       {Op::preserve, "s", "iommu", 3, "ok", "C1"},
		       {Op::preserve, "s", "vfio", 4, "ok", "C1"},
		       {Op::preserve, "s", "gmem", 2, "ok", "C1"},
		       {Op::close_object, "", "iommu", 0, "ok", "setup"},
		       {Op::kexec, "", "", 0, "ENOENT", "C2"},  // vm not preserved
		       {Op::preserve, "s", "vm", 1, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve, "s", "vfio", 4, "ok", "C3"},
		       {Op::finish, "s", "", 0, "EBUSY", "C4"},
		       {Op::retrieve, "s", "iommu", 3, "ok", "C3"},
		       {Op::verify, "", "vfio", 0, "ok", "C3"},
	       });
}

namespace {

// vfio-cdev -> iommufd -> memfd: the iommufd maps the memfd into its IOAS.
Oracle chain()
{
	return Oracle(Contract::agreed(), {
						  {"mem", ObjectKind::memfd, "", 65536, 1},
						  {"iommu", ObjectKind::iommufd, "mem", 0, 0},
						  {"vfio", ObjectKind::vfio_cdev, "iommu", 0, 0},
					  });
}

const std::vector<Row> kChainSetup = create_then_session({"mem", "iommu", "vfio"});

} // namespace

TEST_CASE("agreed C2 down a chain: an iommufd refuses the kexec without the memfd it maps",
	  "[oracle][agreed][chain]")
{
	Oracle o = chain();
	run(o, kChainSetup);
	run(o, {
		       {Op::preserve, "s", "vfio", 3, "ok", "C1"},
		       {Op::preserve, "s", "iommu", 2, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ENOENT", "C2"},
		       {Op::preserve, "s", "mem", 1, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
	       });
}

TEST_CASE("agreed C3/C4 down a chain: the kernel restores two levels, FINISH waits for each",
	  "[oracle][agreed][chain]")
{
	Oracle o = chain();
	run(o, kChainSetup);
	run(o, {
		       {Op::preserve, "s", "vfio", 3, "ok", "C1"},
		       {Op::preserve, "s", "iommu", 2, "ok", "C1"},
		       {Op::preserve, "s", "mem", 1, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       // The device's .retrieve() gets the iommufd, whose own
		       // .retrieve() gets the memfd.
		       {Op::retrieve, "s", "vfio", 3, "ok", "C3"},
		       {Op::verify, "", "vfio", 0, "error", "stale"},
	       });
	check_kernel_only(o, "iommu");
	check_kernel_only(o, "mem");
	run(o, {{Op::finish, "s", "", 0, "EBUSY", "C4"}});
	CHECK(o.finish_blockers("s") == std::vector<std::string>{"iommu", "mem"});
	run(o, {
		       {Op::retrieve, "s", "iommu", 2, "ok", "C3"},
		       {Op::verify, "", "vfio", 0, "ok", "C3"},
		       // The memfd is the kernel's alone: the iommufd cannot be
		       // checked, and the iommufd, retrieved, holds FINISH for it.
		       {Op::verify, "", "iommu", 0, "error", "stale"},
		       {Op::finish, "s", "", 0, "EBUSY", "C4"},
	       });
	CHECK(o.finish_blockers("s") == std::vector<std::string>{"mem"});
	run(o, {
		       {Op::retrieve, "s", "mem", 1, "ok", "C3"},
		       {Op::verify, "", "iommu", 0, "ok", "C3"},
		       {Op::verify, "", "mem", 0, "ok", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C4"},
	       });
}

TEST_CASE("agreed C4 down a chain: a link the kernel retrieved holds FINISH for its own dependency",
	  "[oracle][agreed][chain]")
{
	// The iommufd's can_finish() runs because its file was retrieved,
	// by whomever: the device's reply was lost, the memfd never reached
	// userspace, so FINISH waits, as the reference handlers make it.
	Oracle o = chain();
	run(o, kChainSetup);
	run(o, {
		       {Op::preserve, "s", "mem", 1, "ok", "C1"},
		       {Op::preserve, "s", "iommu", 2, "ok", "C1"},
		       {Op::preserve, "s", "vfio", 3, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       {Op::retrieve_unwritable, "s", "iommu", 2, "EFAULT", "LUO"},
		       {Op::finish, "s", "", 0, "EBUSY", "C4"},
	       });
	CHECK(o.finish_blockers("s") == std::vector<std::string>{"mem"});
	run(o, {
		       {Op::retrieve, "s", "mem", 1, "ok", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C5"},
	       });
}

TEST_CASE("agreed C2-C4: each memfd an iommufd maps is a dependency of its own", "[oracle][agreed]")
{
	std::vector<CaseObject> objs = {
		{"a", ObjectKind::memfd, "", 65536, 1},
		{"b", ObjectKind::memfd, "", 65536, 2},
		{"iommu", ObjectKind::iommufd, "a", 0, 0, 1, {"b"}},
	};
	Oracle o(Contract::agreed(), objs);
	run(o, create_then_session({"a", "b", "iommu"}));
	// C2: the second memfd alone missing refuses the freeze.
	run(o, {
		       {Op::preserve, "s", "a", 1, "ok", "C1"},
		       {Op::preserve, "s", "iommu", 3, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ENOENT", "C2"},
		       {Op::preserve, "s", "b", 2, "ok", "C1"},
		       {Op::kexec, "", "", 0, "ok", "C2"},
		       {Op::session_retrieve, "s", "", 0, "ok", "LUO"},
		       // C3: both memfds come back inside the kernel.
		       {Op::retrieve, "s", "iommu", 3, "ok", "C3"},
	       });
	check_kernel_only(o, "a");
	check_kernel_only(o, "b");
	// Checked through both memfds' fds: not before the VMM holds each.
	CHECK_FALSE(o.checkable("iommu"));
	run(o, {
		       {Op::retrieve, "s", "a", 1, "ok", "C3"},
		       {Op::verify, "", "iommu", 0, "error", "stale"},
		       // C4: the second memfd alone holds FINISH.
		       {Op::finish, "s", "", 0, "EBUSY", "C4"},
	       });
	CHECK(o.finish_blockers("s") == std::vector<std::string>{"b"});
	run(o, {
		       {Op::retrieve, "s", "b", 2, "ok", "C3"},
		       {Op::verify, "", "iommu", 0, "ok", "C3"},
		       {Op::finish, "s", "", 0, "ok", "C4"},
	       });
}
