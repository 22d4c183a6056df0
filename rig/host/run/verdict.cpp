// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/verdict.hpp"

#include "core/plan_render.hpp"

namespace luo::host {

const char *to_string(Verdict v)
{
	switch (v) {
	case Verdict::pass: return "pass";
	case Verdict::violation: return "contract-violation";
	case Verdict::crash: return "crash";
	case Verdict::hang: return "hang";
	case Verdict::infra: return "infra";
	case Verdict::setup: return "setup";
	case Verdict::incomplete: return "incomplete";
	case Verdict::flaky: return "flaky";
	case Verdict::fail: return "fail";
	case Verdict::skip: return "skip";
	}
	return "?";
}

std::string describe_expect(const core::Expect &e)
{
	std::string s = core::expect_text(e);
	if (!e.rule.empty())
		s += " [" + e.rule + "]";
	return s;
}

std::string describe_observed(const StepResult &s)
{
	if (!s.executed)
		return "not run";
	if (!s.inject_broke.empty())
		return s.inject_broke;
	if (s.result == 0)
		return "ok";
	return s.err.empty() ? std::to_string(s.result) : s.err;
}

} // namespace luo::host
