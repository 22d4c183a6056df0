// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/planner.hpp"

#include <algorithm>
#include <map>

#include "host/vm/qemu.hpp"

namespace luo::host {

using protocol::Op;

namespace {

std::uint64_t case_bytes(const core::Case &c)
{
	std::uint64_t n = 0;
	for (const auto &o : c.objects)
		n += o.size;
	return n;
}

} // namespace

Batch make_batch(const std::vector<const core::Case *> &cases)
{
	Batch b;
	b.cases = cases;
	int boots = 0;
	for (const auto *c : cases)
		boots = std::max(boots, c->boots());
	b.boots = boots;

	// Cases whose kexec must fail go first, so that each is refused alone.
	std::vector<int> order(cases.size());
	for (size_t i = 0; i < cases.size(); i++)
		order[i] = i;
	std::stable_partition(order.begin(), order.end(),
			      [&](int i) { return cases[i]->refuses_kexec(); });

	std::vector<std::vector<std::pair<protocol::Step, StepRef>>> per_boot(boots + 1);
	int next_device = 0;
	for (int k : order) {
		const core::Case &c = *cases[k];
		std::string prefix = "c" + std::to_string(k);
		auto obj = [&](const std::string &n) { return n.empty() ? n : prefix + "." + n; };
		auto ses = [&](const std::string &n) { return n.empty() ? n : prefix + "-" + n; };
		for (const auto &o : c.objects) {
			protocol::ObjectSpec spec;
			spec.name = obj(o.name);
			spec.kind = o.kind;
			spec.depends_on = obj(o.depends_on);
			spec.size = o.size;
			spec.seed = o.seed;
			if (o.kind == protocol::ObjectKind::vfio_cdev)
				spec.device = next_device++;
			b.plan.objects.push_back(spec);
		}
		unsigned boot = 0;
		for (size_t s = 0; s < c.steps.size(); s++) {
			const auto &cs = c.steps[s];
			if (cs.op == Op::kexec && cs.expect.kind == core::Expect::Kind::ok) {
				boot++; // the batch's shared kexec carries this case along
				continue;
			}
			protocol::Step st;
			st.boot = boot;
			st.case_id = c.id;
			st.op = cs.op;
			st.session = ses(cs.session);
			st.object = obj(cs.object);
			st.token = cs.token;
			per_boot[boot].push_back({st, StepRef{k, (int)s}});
		}
	}
	b.plan.edu_devices = edu_addresses(next_device);

	std::uint32_t id = 0;
	for (int boot = 0; boot <= boots; boot++) {
		for (auto &[st, ref] : per_boot[boot]) {
			st.id = id++;
			b.plan.steps.push_back(st);
			b.refs.push_back(ref);
		}
		if (boot < boots) {
			protocol::Step k;
			k.id = id++;
			k.boot = boot;
			k.op = Op::kexec;
			b.plan.steps.push_back(k);
			b.refs.push_back(StepRef{});
		}
	}
	return b;
}

std::vector<std::vector<const core::Case *>> split_cases(const std::vector<const core::Case *> &cases,
							 const PlanLimits &limits)
{
	// Cases that go through different numbers of kexecs cannot share a VM.
	std::map<int, std::vector<const core::Case *>> by_boots;
	for (const auto *c : cases)
		by_boots[c->boots()].push_back(c);
	std::vector<std::vector<const core::Case *>> out;
	for (auto &[boots, group] : by_boots) {
		std::vector<const core::Case *> cur;
		int edu = 0;
		std::uint64_t bytes = 0;
		auto flush = [&] {
			if (!cur.empty())
				out.push_back(cur);
			cur.clear();
			edu = 0;
			bytes = 0;
		};
		for (const auto *c : group) {
			int need = c->vfio_devices();
			std::uint64_t size = case_bytes(*c);
			if (!cur.empty() && ((int)cur.size() >= limits.max_cases ||
					     edu + need > limits.max_edu ||
					     bytes + size > limits.max_bytes))
				flush();
			cur.push_back(c);
			edu += need;
			bytes += size;
		}
		flush();
	}
	return out;
}

Batch kexec_only_batch()
{
	Batch b;
	protocol::Step k;
	k.op = protocol::Op::kexec;
	b.plan.steps.push_back(k);
	b.refs.push_back(StepRef{});
	b.boots = 1;
	return b;
}

} // namespace luo::host
