// SPDX-License-Identifier: GPL-2.0-only
//
// Explicit expectations are a kernel developer's statement of what a step
// must do.  They never override the oracle: a disagreement means either the
// file or the contract model is wrong, and both deserve a human's look.
#include <algorithm>

#include "expand.hpp"

namespace luo::core {

using protocol::Op;

namespace {

bool on_session(Op op)
{
	return op == Op::session_create || op == Op::session_close || op == Op::session_retrieve ||
	       op == Op::finish;
}

std::string show(const Expect &e)
{
	switch (e.kind) {
	case Expect::Kind::ok: return "ok";
	case Expect::Kind::error: return e.err;
	case Expect::Kind::any_error: return "error (any errno)";
	}
	return "?";
}

bool agrees(const Expect &written, const Expect &oracle)
{
	if (written.kind == Expect::Kind::any_error)
		return oracle.kind != Expect::Kind::ok;
	return written.kind == oracle.kind && written.err == oracle.err;
}

// The nth step matching the selector, or nullptr.
const CaseStep *find_step(const Case &c, const ExplicitExpect &e, std::size_t *index)
{
	unsigned seen = 0;
	for (std::size_t i = 0; i < c.steps.size(); i++) {
		const CaseStep &s = c.steps[i];
		if (s.op != e.op)
			continue;
		if (e.op != Op::kexec && (on_session(e.op) ? s.session : s.object) != e.target)
			continue;
		if (++seen == e.nth) {
			*index = i;
			return &s;
		}
	}
	return nullptr;
}

} // namespace

void check_expectations(const Scenario &sc, const std::vector<Case> &cases)
{
	for (const auto &e : sc.expects) {
		if (cases.empty())
			return;
		if (!e.contract.empty() && e.contract != cases.front().contract)
			continue;
		unsigned matched = 0;
		const Case *named = nullptr;
		for (const auto &c : cases) {
			if (!e.case_suffix.empty() && c.id != sc.name + "/" + e.case_suffix)
				continue;
			named = &c;
			std::size_t idx = 0;
			const CaseStep *s = find_step(c, e, &idx);
			if (!s)
				continue;
			matched++;
			if (agrees(e.expect, s->expect))
				continue;
			sc.fail(e.pointer + "/result",
				"case " + c.id + ": step " + std::to_string(idx + 1) + " '" + e.step_text +
					"' is written as " + show(e.expect) + " but the " + c.contract +
					" contract says " + show(s->expect) + " (rule " + s->expect.rule +
					"); fix the file or the contract model");
		}
		if (!e.case_suffix.empty() && !named)
			sc.fail(e.pointer + "/case", "no case '" + e.case_suffix + "' in this scenario; ids look like '" +
							     cases.front().id.substr(sc.name.size() + 1) +
							     "' (see luo-rig plan)");
		if (!matched)
			sc.fail(e.pointer + "/step", "no step '" + e.step_text + "' in " +
							     (named && !e.case_suffix.empty() ? "case " + named->id
											      : std::string("any case")) +
							     " under the " + cases.front().contract +
							     " contract (see luo-rig plan)");
	}
}

} // namespace luo::core
