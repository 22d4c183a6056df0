// SPDX-License-Identifier: GPL-2.0-only
//
// The default kernel's reference handlers against the agreed contract, for
// {kvm-vm, guest_memfd} and {iommufd, vfio-cdev}: every order, the refused
// kexec and its retry, the FINISH that must wait for the dependency.
#include <catch2/catch_test_macros.hpp>

#include "e2e_support.hpp"

using namespace luo;
using protocol::Op;

namespace {

const host::CaseResult &find_case(const host::RunReport &rep, const std::string &id)
{
	for (const auto &c : rep.cases)
		if (c.id == id)
			return c;
	FAIL("no case " << id);
	throw;
}

// Observed outcomes of one op in a case, in order ("ok" or the errno name);
// they come from the guest's events.
std::vector<std::string> observed(const host::CaseResult &c, Op op)
{
	std::vector<std::string> out;
	for (const auto &s : c.steps)
		if (s.op == op)
			out.push_back(host::describe_observed(s));
	return out;
}

void require_all_pass(const host::RunReport &rep)
{
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message << "\n"
			  << c.diagnostic);
		CHECK(c.verdict == host::Verdict::pass);
	}
}

} // namespace

TEST_CASE("kvm-vm and guest_memfd follow the agreed contract", "[e2e][deps]")
{
	auto cfg = e2e::config_for({"scenarios/deps/kvm-gmem.json", "scenarios/faults/retry-kexec.json"},
				   "deps-kvm");
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() >= 10);
	require_all_pass(rep);

	// Dependent preserved first, only the dependent restored: FINISH waits
	// for the VM, then succeeds once the VMM retrieves it.
	const auto &only_gmem = find_case(rep, "kvm-gmem/p:gmem,vm/r:gmem");
	CHECK(observed(only_gmem, Op::preserve) == std::vector<std::string>{"ok", "ok"});
	CHECK(observed(only_gmem, Op::finish) == std::vector<std::string>{"EBUSY", "ok"});

	// Both restored, dependent first: the functional checks pass.
	const auto &both = find_case(rep, "kvm-gmem/p:vm,gmem/r:gmem,vm");
	auto verifies = observed(both, Op::verify);
	REQUIRE_FALSE(verifies.empty());
	for (const auto &v : verifies)
		CHECK(v == "ok");
	CHECK(observed(both, Op::finish) == std::vector<std::string>{"ok"});

	// Dependency withheld: the kexec is refused, preserving it lets the
	// retry through, and the memfd's data survived the refusal.
	for (const auto &c : rep.cases) {
		if (c.scenario != "fault-retry-kexec")
			continue;
		CHECK(observed(c, Op::kexec) == std::vector<std::string>{"ENOENT", "ok"});
	}
}

TEST_CASE("iommufd and vfio-cdev follow the agreed contract", "[e2e][deps]")
{
	auto cfg = e2e::config_for({"scenarios/deps/iommufd-vfio.json"}, "deps-vfio");
	auto rep = host::run_suite(cfg);
	REQUIRE(rep.cases.size() == 10);
	require_all_pass(rep);

	const auto &only_vfio = find_case(rep, "iommufd-vfio/p:vfio,iommu/r:vfio");
	CHECK(observed(only_vfio, Op::finish) == std::vector<std::string>{"EBUSY", "ok"});
	const auto &both = find_case(rep, "iommufd-vfio/p:vfio,iommu/r:vfio,iommu");
	for (const auto &v : observed(both, Op::verify))
		CHECK(v == "ok");
}
