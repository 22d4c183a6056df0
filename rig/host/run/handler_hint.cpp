// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/handler_hint.hpp"

#include <map>
#include <set>

namespace luo::host {

namespace {

struct Tally {
	int ran = 0, enoent = 0;
	std::set<std::string> cases;
};

} // namespace

std::vector<std::string> missing_handler_hints(const std::vector<core::Case> &cases,
					       const std::vector<CaseResult> &results)
{
	std::map<std::string, const core::Case *> by_id;
	for (const auto &c : cases)
		by_id[c.id] = &c;
	std::map<protocol::ObjectKind, Tally> tally;
	for (const auto &r : results) {
		auto c = by_id.find(r.id);
		if (c == by_id.end())
			continue;
		std::map<std::string, protocol::ObjectKind> kind_of;
		for (const auto &o : c->second->objects)
			kind_of[o.name] = o.kind;
		for (const auto &s : r.steps) {
			// Only preserves the contract expects to succeed: an ENOENT
			// it asks for (S1, a dependency not preserved first) says
			// nothing of the handler.
			if (!s.executed || s.teardown || s.op != protocol::Op::preserve ||
			    s.expect.kind != core::Expect::Kind::ok)
				continue;
			auto k = kind_of.find(s.object);
			if (k == kind_of.end())
				continue;
			Tally &t = tally[k->second];
			t.ran++;
			t.enoent += s.result < 0 && s.err == "ENOENT";
			t.cases.insert(r.id);
		}
	}
	std::vector<std::string> out;
	for (const auto &[kind, t] : tally) {
		// No handler is what the unsupported kind is there to show.
		if (kind == protocol::ObjectKind::unsupported || !t.ran || t.enoent != t.ran)
			continue;
		const std::string k = protocol::to_string(kind);
		out.push_back("every PRESERVE_FD of a " + k + " that was to succeed (" +
			      std::to_string(t.ran) + " in " +
			      std::to_string(t.cases.size()) +
			      " cases) failed with ENOENT, what LUO answers when no handler takes "
			      "the file: does this kernel build and register a Live Update handler "
			      "for " + k + "? If it is not meant to, leave out the scenarios with a " +
			      k + " (luo-rig run --case, or name the scenario files)");
	}
	return out;
}

} // namespace luo::host
