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

// What a case still holds when its story is over: every object, and the
// sessions open after its last successful kexec.  Closing them (dependents
// first) runs the handlers' release paths, and hands its VFIO devices back
// for the next round.  Each close is a step of the case's own.
void teardown(const core::Case &c, int k, const std::string &prefix, unsigned boot,
	      std::vector<std::pair<protocol::Step, StepRef>> &out)
{
	StepRef ref;
	ref.case_index = k;
	ref.teardown = true;
	for (auto o = c.objects.rbegin(); o != c.objects.rend(); ++o) {
		protocol::Step st;
		st.boot = boot;
		st.case_id = c.id;
		st.op = Op::close_object;
		st.object = prefix + "." + o->name;
		ref.object = o->name;
		out.push_back({st, ref});
	}
	ref.object.clear();
	std::vector<std::string> open;
	int kexecs = 0;
	for (const auto &cs : c.steps) {
		bool ok = cs.expect.kind == core::Expect::Kind::ok;
		if (cs.op == Op::kexec && ok) {
			kexecs++;
			open.clear();
		} else if (kexecs == c.boots() && ok &&
			   (cs.op == Op::session_create || cs.op == Op::session_retrieve)) {
			open.push_back(cs.session);
		} else if (cs.op == Op::session_close && ok) {
			std::erase(open, cs.session);
		}
	}
	for (const auto &name : open) {
		protocol::Step st;
		st.boot = boot;
		st.case_id = c.id;
		st.op = Op::session_close;
		st.session = prefix + "-" + name;
		ref.session = name;
		out.push_back({st, ref});
	}
}

// Greedy packing in order: a new round when the next case does not fit.
std::vector<std::vector<const core::Case *>> pack(const std::vector<const core::Case *> &cases,
						  const PlanLimits &limits)
{
	std::vector<std::vector<const core::Case *>> out;
	std::vector<const core::Case *> cur;
	int edu = 0;
	std::uint64_t bytes = 0;
	for (const auto *c : cases) {
		int need = c->vfio_devices();
		std::uint64_t size = case_bytes(*c);
		if (!cur.empty() && ((int)cur.size() >= limits.max_cases ||
				     edu + need > limits.max_edu || bytes + size > limits.max_bytes)) {
			out.push_back(cur);
			cur.clear();
			edu = 0;
			bytes = 0;
		}
		cur.push_back(c);
		edu += need;
		bytes += size;
	}
	if (!cur.empty())
		out.push_back(cur);
	return out;
}

bool fits(const std::vector<const core::Case *> &a, const std::vector<const core::Case *> &b,
	  const PlanLimits &limits)
{
	std::vector<const core::Case *> all = a;
	all.insert(all.end(), b.begin(), b.end());
	return pack(all, limits).size() <= 1;
}

} // namespace

Batch make_batch(const std::vector<const core::Case *> &cases, const std::vector<int> &rounds,
		 const Schedule &schedule)
{
	using Planned = std::pair<protocol::Step, StepRef>;
	Batch b;
	b.cases = cases;
	b.schedule = schedule;
	b.rounds = rounds.empty() ? std::vector<int>(cases.size(), 0) : rounds;
	int boots = 0, last_round = 0;
	for (size_t k = 0; k < cases.size(); k++) {
		boots = std::max(boots, b.rounds[k] + cases[k]->boots());
		last_round = std::max(last_round, b.rounds[k]);
	}
	b.boots = boots;

	// Round by round; in each, cases whose kexec must fail go first, so
	// that each is refused alone.
	std::vector<int> order(cases.size());
	for (size_t i = 0; i < cases.size(); i++)
		order[i] = i;
	std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
		return std::pair(b.rounds[x], !cases[x]->refuses_kexec()) <
		       std::pair(b.rounds[y], !cases[y]->refuses_kexec());
	});

	// Each case's own steps, boot by boot.
	std::vector<std::vector<std::vector<Planned>>> own(cases.size());
	int next_device = 0, devices = 0, prev_round = -1;
	auto prefix_of = [](int k) { return "c" + std::to_string(k); };
	for (int k : order) {
		const core::Case &c = *cases[k];
		int round = b.rounds[k];
		if (round != prev_round)
			next_device = 0;  // the previous round gave its devices back
		prev_round = round;
		std::string prefix = prefix_of(k);
		auto obj = [&](const std::string &n) { return n.empty() ? n : prefix + "." + n; };
		auto ses = [&](const std::string &n) { return n.empty() ? n : prefix + "-" + n; };
		for (const auto &o : c.objects) {
			protocol::ObjectSpec spec;
			spec.name = obj(o.name);
			spec.kind = o.kind;
			spec.depends_on = obj(o.depends_on);
			for (const auto &m : o.also_maps)
				spec.also_maps.push_back(obj(m));
			spec.size = o.size;
			spec.ioas = o.ioas;
			// Contents differ from case to case, so a file handed to
			// the wrong session fails its check.
			spec.seed = o.seed + 0x9e3779b9u * (k + 1);
			if (o.kind == protocol::ObjectKind::vfio_cdev) {
				spec.device = next_device++;
				devices = std::max(devices, next_device);
			}
			b.plan.objects.push_back(spec);
		}
		own[k].resize(boots + 1);
		unsigned boot = round;
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
			st.probe = core::runs_probe(cs);
			own[k][boot].push_back({st, StepRef{k, (int)s}});
		}
	}
	b.plan.edu_devices = edu_addresses(devices);

	// A boot serves round by round: the cases of a round in the batch's
	// schedule, then what the cases whose story ends in this boot still
	// hold is closed on the main thread, one case after another, before
	// the next round, the kexec or the power-off.
	std::vector<std::vector<Planned>> per_boot(boots + 1);
	for (int boot = 0; boot <= boots; boot++) {
		auto &out = per_boot[boot];
		for (int r = 0; r <= std::min(boot, last_round); r++) {
			std::vector<int> others;
			for (int k : order) {
				if (b.rounds[k] != r || own[k][boot].empty())
					continue;
				if (cases[k]->refuses_kexec())
					out.insert(out.end(), own[k][boot].begin(), own[k][boot].end());
				else
					others.push_back(k);
			}
			std::vector<int> sizes;
			for (int k : others)
				sizes.push_back(own[k][boot].size());
			for (auto [i, s] : interleave(sizes, schedule)) {
				Planned p = own[others[i]][boot][s];
				p.first.thread = thread_of(i, schedule);
				out.push_back(p);
			}
			for (int k : order)
				if (b.rounds[k] == r && r + cases[k]->boots() == boot)
					teardown(*cases[k], k, prefix_of(k), boot, out);
		}
	}

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

std::vector<int> assign_rounds(const std::vector<const core::Case *> &cases, const PlanLimits &limits)
{
	std::vector<int> rounds(cases.size(), 0);
	std::vector<const core::Case *> chain, last;
	for (const auto *c : cases)
		(c->chainable() ? chain : last).push_back(c);
	// A group that cannot chain (two kexecs, or none) keeps one round.
	if (chain.empty())
		return rounds;
	auto packed = pack(chain, limits);
	std::map<const core::Case *, int> where;
	for (size_t r = 0; r < packed.size(); r++)
		for (const auto *c : packed[r])
			where[c] = r;
	// The others share the last round when they fit beside it, else they
	// get one of their own: nothing may follow them.
	int tail = packed.size() - 1;
	if (!last.empty() && !fits(packed.back(), last, limits))
		tail++;
	for (const auto *c : last)
		where[c] = tail;
	for (size_t k = 0; k < cases.size(); k++)
		rounds[k] = where[cases[k]];
	return rounds;
}

std::vector<std::vector<const core::Case *>> split_cases(const std::vector<const core::Case *> &cases,
							 const PlanLimits &limits, int parallel)
{
	// Cases that go through different numbers of kexecs cannot share a VM.
	std::map<int, std::vector<const core::Case *>> by_boots;
	for (const auto *c : cases)
		by_boots[c->boots()].push_back(c);
	std::vector<std::vector<const core::Case *>> out;
	for (auto &[boots, group] : by_boots) {
		std::vector<const core::Case *> chain, last;
		for (const auto *c : group)
			(c->chainable() ? chain : last).push_back(c);
		auto chained = pack(chain, limits);
		auto tails = pack(last, limits);
		int rounds = chained.size() + tails.size();
		// Every tail round ends a VM; beyond that, as few VMs as
		// max_rounds allows, but one per worker while rounds last.
		int vms = std::max<int>(tails.size(), (rounds + limits.max_rounds - 1) / limits.max_rounds);
		vms = std::max(vms, std::min(rounds, parallel));
		std::vector<std::vector<std::vector<const core::Case *>>> load(vms);
		for (size_t t = 0; t < tails.size(); t++)
			load[t].push_back(tails[t]);
		// Chained rounds in order, each to the VM with the fewest
		// rounds so far, ahead of that VM's tail.
		for (auto &r : chained) {
			size_t best = 0;
			for (size_t v = 1; v < load.size(); v++)
				if (load[v].size() < load[best].size())
					best = v;
			auto &l = load[best];
			bool has_tail = best < tails.size();
			l.insert(has_tail ? l.end() - 1 : l.end(), r);
		}
		for (auto &l : load) {
			std::vector<const core::Case *> flat;
			for (auto &r : l)
				flat.insert(flat.end(), r.begin(), r.end());
			if (!flat.empty())
				out.push_back(flat);
		}
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
