// SPDX-License-Identifier: GPL-2.0-only
#include "host/selftests/judge.hpp"

#include <cstdlib>
#include <cstring>
#include <csignal>
#include <map>
#include <sstream>

#include "host/run/console.hpp"

namespace luo::host {

namespace {

constexpr const char *kBegin = "luo-selftests: begin ";
constexpr const char *kEnd = "luo-selftests: end ";

std::string trim(std::string s)
{
	while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\n'))
		s.pop_back();
	size_t i = s.find_first_not_of(' ');
	return i == std::string::npos ? "" : s.substr(i);
}

std::string last_line(const std::string &output)
{
	std::istringstream in(output);
	std::string l, last;
	while (std::getline(in, l))
		if (!trim(l).empty())
			last = trim(l);
	return last;
}

// The last lines of a program's output, for the report's diagnostic.
std::string tail(const std::string &output, int lines = 15)
{
	std::vector<std::string> all;
	std::istringstream in(output);
	std::string l;
	while (std::getline(in, l))
		all.push_back(l);
	std::string out;
	for (size_t i = all.size() > (size_t)lines ? all.size() - lines : 0; i < all.size(); i++)
		out += all[i] + "\n";
	return out;
}

std::string signal_name(int sig)
{
	const char *n = sigabbrev_np(sig);
	return n ? std::string("SIG") + n : "signal " + std::to_string(sig);
}

// Which selftest stage each console line belongs to, from the runner's
// markers: "" outside every begin/end pair.
std::string owner_of_line(const std::string &console, int line_no)
{
	std::istringstream in(console);
	std::string l, open;
	for (int n = 1; std::getline(in, l) && n <= line_no; n++) {
		if (auto at = l.find(kBegin); at != std::string::npos)
			open = trim(l.substr(at + strlen(kBegin)));
		else if (l.find(kEnd) != std::string::npos)
			open.clear();
	}
	return open;
}

// The guest's OOM killer's line about a process it killed during `stage`
// (a runner tag, "NAME stage N"), "" when there is none.
std::string oom_kill_during(const std::string &console, const std::string &stage)
{
	static const std::string kOom = "Out of memory: Killed process";
	std::istringstream in(console);
	std::string l;
	for (int n = 1; std::getline(in, l); n++)
		if (auto at = l.find(kOom); at != std::string::npos && owner_of_line(console, n) == stage)
			return trim(l.substr(at));
	return "";
}

std::string last_begun(const std::string &console)
{
	std::string last;
	std::istringstream in(console);
	std::string l;
	while (std::getline(in, l))
		if (auto at = l.find(kBegin); at != std::string::npos)
			last = trim(l.substr(at + strlen(kBegin)));
	return last;
}

} // namespace

std::string selftest_id(const std::string &name)
{
	return std::string(kSelftestScenario) + "/" + name;
}

KtapSummary parse_ktap(const std::string &output)
{
	KtapSummary k;
	std::istringstream in(output);
	std::string l;
	while (std::getline(in, l)) {
		bool top = !l.empty() && l[0] != ' ' && l[0] != '\t';
		l = trim(l);
		auto skip_at = l.find("# SKIP");
		if (top && (l.rfind("ok ", 0) == 0 || l.rfind("not ok ", 0) == 0))
			k.results++;
		if (top && k.planned < 0 && l.rfind("1..", 0) == 0)
			k.planned = std::atoi(l.c_str() + 3);
		if (l.rfind("ok ", 0) == 0) {
			k.ok++;
			if (skip_at != std::string::npos) {
				k.skipped++;
				if (k.skip_reason.empty())
					k.skip_reason = trim(l.substr(skip_at + 6));
			}
		} else if (l.rfind("not ok ", 0) == 0) {
			k.not_ok++;
			if (skip_at == std::string::npos)
				k.failed.push_back(l);
		} else if (l.rfind("1..0 # SKIP", 0) == 0) {
			k.skipped++;
			if (k.skip_reason.empty())
				k.skip_reason = trim(l.substr(11));
		} else if (l.rfind("Bail out!", 0) == 0 && !k.bailed) {
			k.bailed = true;
			k.bail_out = trim(l.substr(9));
		}
	}
	return k;
}

StageJudgement judge_stage(int exit_code, int signal, const std::string &output)
{
	KtapSummary k = parse_ktap(output);
	StageJudgement j;
	if (signal) {
		j.verdict = Verdict::fail;
		j.message = "killed by " + signal_name(signal);
		return j;
	}
	const std::string status = "exit status " + std::to_string(exit_code);
	auto failed_lines = [&] {
		return k.failed.front() + (k.failed.size() > 1
						   ? " (and " + std::to_string(k.failed.size() - 1) + " more)"
						   : "");
	};
	// What the program printed outranks how it exited: a harness that
	// bailed out or lost tests and still exited 0 did not pass.
	if (k.bailed) {
		j.verdict = Verdict::fail;
		bool exited_ok = exit_code == 0 || exit_code == 2 || exit_code == 4;
		j.message = status + (exited_ok ? " but KTAP bailed out" : "") +
			    (k.bail_out.empty() ? (exited_ok ? "" : ": Bail out!") : ": " + k.bail_out);
		return j;
	}
	if (!k.failed.empty()) {
		j.verdict = Verdict::fail;
		j.message = status + (exit_code == 0 || exit_code == 2 || exit_code == 4
					      ? " but KTAP says " : ": ") +
			    failed_lines();
		return j;
	}
	bool skipping = exit_code == 4 && (!k.skip_reason.empty() || k.planned < 0);
	if (k.planned > 0 && k.results < k.planned && !skipping) {
		// The plan promised more tests than ran: the rest died unseen.
		j.verdict = Verdict::fail;
		j.message = status + " but KTAP planned " + std::to_string(k.planned) + " tests and " +
			    std::to_string(k.results) + " reported" +
			    (last_line(output).empty() ? "" : "; last line: " + last_line(output));
		return j;
	}
	// Every result a SKIP (or the plan 1..0 # SKIP) is a skip, however
	// the program exited.
	bool all_skipped = k.skipped > 0 && k.not_ok == 0 &&
			   (k.ok == k.skipped || (k.planned == 0 && k.ok == 0));
	switch (exit_code) {
	case 0:
	case 2:   // KSFT_XFAIL: an expected failure is not a failure
		if (all_skipped) {
			j.verdict = Verdict::skip;
			j.message = k.skip_reason.empty() ? "every test skipped" : k.skip_reason;
		}
		return j;
	case 4:
		j.verdict = Verdict::skip;
		j.message = !k.skip_reason.empty() ? k.skip_reason : last_line(output);
		if (j.message.empty())
			j.message = "skipped (exit status 4), no reason given";
		return j;
	default:
		j.verdict = Verdict::fail;
		j.message = last_line(output);
		j.message = status + (j.message.empty() ? "" : ": " + j.message);
		return j;
	}
}

CaseResult skipped_selftest(const std::string &name, const std::string &reason)
{
	CaseResult r;
	r.id = selftest_id(name);
	r.scenario = kSelftestScenario;
	r.verdict = Verdict::skip;
	r.message = reason;
	return r;
}

std::vector<CaseResult> judge_selftests(const std::vector<SelftestInfo> &tests, const VmResult &vm,
					const std::string &console)
{
	std::map<std::pair<std::string, std::uint32_t>, const protocol::Event *> stage_ev;
	const protocol::Event *fatal = nullptr, *kexec_failed = nullptr;
	for (const auto &ev : vm.events) {
		if (ev.type == protocol::EventType::selftest)
			stage_ev[{ev.selftest, ev.stage}] = &ev;
		else if (ev.type == protocol::EventType::fatal && !fatal)
			fatal = &ev;
		else if (ev.type == protocol::EventType::warning && ev.err == "kexec")
			kexec_failed = &ev;
	}
	auto findings = classify_console(console);

	std::vector<CaseResult> out;
	for (const auto &t : tests) {
		CaseResult r;
		r.id = selftest_id(t.name);
		r.scenario = kSelftestScenario;
		r.vm_dir = vm.console_log.parent_path().string();
		r.attempts = 1;

		// Stage 1 decides when it did not pass: stage 2 of a program whose
		// stage 1 failed can only complain that its state is missing.
		std::vector<std::uint32_t> stages = t.two_stage ? std::vector<std::uint32_t>{1, 2}
								: std::vector<std::uint32_t>{0};
		bool judged = false;
		for (auto s : stages) {
			auto it = stage_ev.find({t.name, s});
			if (it == stage_ev.end())
				break;
			const auto &ev = *it->second;
			auto j = judge_stage(ev.exit_code, ev.signal, ev.detail);
			// Killed for memory the VM does not have: the program could
			// not finish here, which says nothing yet about the kernel
			// (a debug kernel's KASAN shadow alone takes an eighth).
			std::string oom;
			if (ev.signal == SIGKILL)
				oom = oom_kill_during(console, t.name + " stage " + std::to_string(s));
			if (!oom.empty()) {
				j.verdict = Verdict::incomplete;
				j.message = "the guest's OOM killer ended it (\"" + oom +
					    "\"): the VM's memory is too small for this program; rerun "
					    "with a larger --memory (e.g. 4096); a kernel that leaks "
					    "would still run out then";
			}
			r.verdict = j.verdict;
			r.message = t.two_stage && !j.message.empty()
					    ? "stage " + std::to_string(s) + ": " + j.message
					    : j.message;
			r.diagnostic = tail(ev.detail);
			judged = s == stages.back() || j.verdict != Verdict::pass;
			if (judged)
				break;
		}
		if (!judged) {
			std::string started = last_begun(console);
			if (fatal) {
				r.verdict = Verdict::setup;
				r.message = "the selftest runner gave up: " + fatal->detail;
			} else if (vm.status == VmResult::Status::hang) {
				r.verdict = Verdict::hang;
				r.message = vm.why + (started.empty() ? "" : " (last started: " + started + ")");
			} else if (vm.status == VmResult::Status::infra ||
				   vm.status == VmResult::Status::interrupted) {
				r.verdict = Verdict::infra;
				r.message = vm.why;
			} else if (kexec_failed) {
				r.verdict = Verdict::fail;
				r.message = "stage 1 passed, but the kexec to stage 2 failed: " +
					    kexec_failed->detail;
			} else {
				r.verdict = Verdict::incomplete;
				r.message = "the VM stopped before this selftest finished: " +
					    std::string(to_string(vm.status)) +
					    (vm.why.empty() ? "" : ": " + vm.why);
			}
		}
		// A splat is the kernel's failure whatever the program said.
		for (const auto &f : findings) {
			std::string owner = owner_of_line(console, f.line);
			if (!owner.empty() && owner.rfind(t.name + " stage ", 0) != 0)
				continue;
			r.verdict = Verdict::crash;
			r.message = crash_message(f) +
				    (owner.empty() ? " (outside any selftest; every selftest of the VM "
						     "is charged with it)"
						   : " (during " + owner + ")");
			r.diagnostic = console_excerpt(console, f) + r.diagnostic;
			break;
		}
		out.push_back(std::move(r));
	}
	return out;
}

} // namespace luo::host
