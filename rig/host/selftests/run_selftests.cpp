// SPDX-License-Identifier: GPL-2.0-only
#include "host/selftests/run_selftests.hpp"

#include <cstdio>
#include <map>

#include "host/image/recipe.hpp"
#include "host/kernel/built_source.hpp"
#include "host/kernel/fault_knobs.hpp"
#include "host/kernel/uapi_headers.hpp"
#include "host/selftests/judge.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"
#include "protocol/selftests.hpp"

namespace luo::host {

namespace fs = std::filesystem;

namespace {

// The stress programs make thousands of sessions under TCG without a word
// to the event port: silence is long before it means a hang.
Timeouts selftest_timeouts(Accel accel)
{
	Timeouts t = timeouts_for(accel, 1, 0);
	t.stall = accel == Accel::kvm ? 120 : 600;
	t.total = t.boot * 2 + t.stall * 2;
	return t;
}

VmResult boot_group(const std::vector<SelftestInfo> &group, const SelftestBuild &build,
		    const VmContext &ctx, const fs::path &dir, int &boots)
{
	protocol::SelftestPlan plan;
	bool device = false;
	for (const auto &t : group) {
		plan.tests.push_back({t.name, t.two_stage, t.device});
		device |= t.device;
	}
	// One edu device stands in for the assigned device, as in the suite.
	if (device)
		plan.device = edu_addresses(1).front();
	std::string plan_json = protocol::selftest_plan_to_json(plan);
	fs::create_directories(dir);
	write_file_atomic(dir / "selftests.json", plan_json);
	write_initramfs(dir / "initrd.cpio",
			load_image("selftests", {{"kernel", ImageInput::host(ctx.kernel)},
						 {"runner", ImageInput::host(selftest_runner_binary())},
						 {"selftests", ImageInput::host(build.bin_dir)},
						 {"plan", ImageInput::literal(plan_json)}}));
	VmSpec spec = vm_spec(ctx, dir, device ? 1 : 0);
	auto count = [&](const protocol::Event &ev) { boots += ev.type == protocol::EventType::boot; };
	Timeouts t = selftest_timeouts(ctx.accel);
	auto vm = boot_vm(ctx, spec, t, count);
	fs::remove(dir / "initrd.cpio");
	return vm;
}

} // namespace

SelftestBuild prepare_selftests(const KernelOptions &kernel)
{
	KernelSource src;
	try {
		src = built_source(kernel);
	} catch (const SetupError &e) {
		return all_skipped(source_of(kernel).tree,
				   std::string("the selftests' source could not be patched: ") + e.what());
	}
	if (!fs::is_directory(src.tree / kSelftestSubdir))
		return all_skipped(src.tree, src.label + " has no " + kSelftestSubdir);
	fs::path headers;
	try {
		headers = uapi_headers(src);
	} catch (const SetupError &e) {
		return all_skipped(src.tree, std::string("no uapi headers to build against: ") + e.what());
	}
	auto b = build_selftests(src.tree, headers, cache_root() / "selftests");
	int built = 0;
	for (const auto &t : b.tests)
		built += t.built;
	std::fprintf(stderr, "luo-rig: %d of %zu selftests of %s built%s (%s)\n", built,
		     b.tests.size(), src.label.c_str(), b.from_cache ? ", cached" : "",
		     b.bin_dir.parent_path().string().c_str());
	return b;
}

SelftestRun run_selftests(const SelftestBuild &build, const VmContext &ctx,
			  const fs::path &run_dir)
{
	SelftestRun out;
	std::vector<SelftestInfo> runnable;
	std::map<std::string, CaseResult> by_name;
	for (const auto &t : build.tests) {
		if (t.built)
			runnable.push_back(t.info);
		else
			by_name[t.info.name] = skipped_selftest(t.info.name, t.skip_reason);
	}
	for (const auto &group : selftest_groups(runnable, build.tree)) {
		bool retried = false;
		for (;;) {
			fs::path dir = run_dir / ("selftests-" + std::to_string(++out.vms));
			VmResult vm = boot_group(group, build, ctx, dir, out.boots);
			out.vms_per_host[vm.host]++;
			std::string console = fs::exists(vm.console_log) ? read_file(vm.console_log) : "";
			bool early_stall = vm.status == VmResult::Status::hang && vm.events.empty();
			bool lost = vm.status == VmResult::Status::infra || early_stall;
			if (lost && !retried && !interrupted()) {
				std::fprintf(stderr, "\nluo-rig: %s: %s; rerunning its %zu selftest(s) once\n",
					     dir.filename().c_str(), vm.why.c_str(), group.size());
				out.infra_retried += group.size();
				retried = true;
				continue;
			}
			// As for the suite's VMs: a knob the kernel did not arm
			// would make a green selftest a lie.
			int vm_boots = 0;
			for (const auto &ev : vm.events)
				vm_boots += ev.type == protocol::EventType::boot;
			std::vector<std::string> missing;
			if (!ctx.faults.empty() && vm_boots > 0)
				missing = unconfirmed_knobs(console, ctx.faults, vm_boots);
			for (auto &r : judge_selftests(group, vm, console)) {
				if (!missing.empty()) {
					r.verdict = Verdict::setup;
					r.message = unconfirmed_knob_message(console, missing.front(),
									     vm_boots, vm.console_log);
				}
				r.infra_retried = retried;
				r.attempts = retried ? 2 : 1;
				if (early_stall && retried && r.verdict == Verdict::hang)
					r.message += " (stalled again on a fresh QEMU before the first "
						     "event: reproduced, not infra)";
				by_name[r.id.substr(r.id.find('/') + 1)] = std::move(r);
			}
			break;
		}
	}
	for (const auto &t : build.tests)
		out.cases.push_back(std::move(by_name[t.info.name]));
	return out;
}

} // namespace luo::host
