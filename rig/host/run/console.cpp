// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/console.hpp"

#include <algorithm>
#include <optional>
#include <regex>
#include <sstream>
#include <string_view>

#include "host/run/console_frames.hpp"
#include "host/run/console_table.hpp"

namespace luo::host {

namespace {

// A report runs until the next one or this many lines, whichever is first.
constexpr size_t kMaxReportLines = 400;
// A preamble belongs to a report that opens this close after it.
constexpr size_t kPreambleReach = 6;

struct Compiled {
	const ReportRule *rule;
	std::regex start;
	size_t literal; // index into Table::literals
};

struct Table {
	std::vector<std::string> literals; // distinct, each checked once per line
	std::vector<Compiled> rules;
	std::vector<std::regex> ignores;
};

const Table &table()
{
	static const Table t = [] {
		Table t;
		for (const auto &r : report_rules()) {
			auto it = std::find(t.literals.begin(), t.literals.end(), r.literal);
			size_t li = it - t.literals.begin();
			if (it == t.literals.end())
				t.literals.emplace_back(r.literal);
			t.rules.push_back({&r, std::regex(r.start, std::regex::optimize), li});
		}
		for (const char *ig : report_ignores())
			t.ignores.emplace_back(ig, std::regex::optimize | std::regex::icase);
		return t;
	}();
	return t;
}

struct Start {
	size_t line; // 0-based
	const ReportRule *rule;
	size_t index; // of the rule in the table
	std::vector<std::string> groups; // the start regex's groups, 1-based at [1]
};

// The first rule from `from` on that opens a report on this line.
std::optional<Start> match_start(std::string_view l, size_t n, size_t from = 0)
{
	const Table &t = table();
	// Most lines contain none of the literals: check each literal once,
	// and run a regex only for a rule whose literal is there.
	std::vector<char> hit(t.literals.size(), -1);
	for (size_t ri = from; ri < t.rules.size(); ri++) {
		const Compiled &c = t.rules[ri];
		char &h = hit[c.literal];
		if (h < 0)
			h = l.find(t.literals[c.literal]) != std::string_view::npos;
		if (!h)
			continue;
		std::match_results<std::string_view::const_iterator> m;
		if (!std::regex_search(l.begin(), l.end(), m, c.start))
			continue;
		for (const auto &ig : t.ignores)
			if (std::regex_search(l.begin(), l.end(), ig))
				return std::nullopt;
		Start s{n, c.rule, ri, {}};
		for (const auto &g : m)
			s.groups.push_back(g.str());
		return s;
	}
	return std::nullopt;
}

// A report ends at the next one, except that the panic a report ends in
// (panic_on_warn, "Fatal exception") and the Oops line of a fault are
// printed in its middle: its stack trace comes after them.
bool ends_report(const Start &s)
{
	std::string_view k = s.rule->kind;
	return k != "panic" && k != "Oops";
}

bool has_line(const std::vector<std::string_view> &lines, const char *re)
{
	std::regex r(re);
	for (auto l : lines)
		if (std::regex_search(l.begin(), l.end(), r))
			return true;
	return false;
}

// The trap line the kernel prints right under a BUG or WARNING header
// ("kernel BUG at ...!" then "invalid opcode: 0000 [#1]") is that report's.
constexpr size_t kTrapReach = 4;

bool is_trap_of(const Start &next, const Start &cur)
{
	std::string_view k = next.rule->kind;
	return next.line - cur.line <= kTrapReach && !cur.rule->preamble &&
	       (k == "invalid-opcode" || k == "GPF" || k == "Oops" || k == "int3" || k == "divide-error");
}

std::string make_title(const Start &s, const std::vector<std::string_view> &lines)
{
	const ReportRule &r = *s.rule;
	std::string header_func = s.groups.size() > 1 ? s.groups.back() : "";
	std::string title = r.title;
	auto replace = [&](const std::string &key, const std::string &val) {
		for (size_t p = title.find(key); p != std::string::npos; p = title.find(key, p + val.size()))
			title.replace(p, key.size(), val);
	};
	for (size_t g = 1; g < s.groups.size() && g < 10; g++)
		replace("{" + std::to_string(g) + "}", s.groups[g]);
	if (title.find("{rw}") != std::string::npos) {
		static const std::regex rw("(Read|Write) (?:of size|at addr)");
		// A report cut before its access line is named without one.
		std::string access;
		for (auto l : lines) {
			std::match_results<std::string_view::const_iterator> m;
			if (std::regex_search(l.begin(), l.end(), m, rw)) {
				access = m[1].str();
				break;
			}
		}
		if (access.empty())
			replace(" {rw}", "");
		replace("{rw}", access);
	}
	if (title.find("{f}") != std::string::npos) {
		auto f = guilty_function(lines, r, header_func);
		// A cut console (the VM killed mid-report) still has the header's
		// own function ("WARNING: ... at fs/x.c:12 foo+0x1/0x2").
		static const std::regex ident("[A-Za-z_][A-Za-z0-9_]*");
		if (f.empty() && std::regex_match(header_func, ident))
			f = header_func;
		// No frame to name it by: the report is cut or garbled.
		replace("{f}", f.empty() ? "corrupted" : f);
	}
	// Numbers inside a free-form title (sizes, CPUs, PIDs) differ between
	// two hits of one bug.
	if (std::string_view(r.title).find("{1}") != std::string_view::npos && r.frames == FrameFrom::none) {
		static const std::regex addr(R"(\b(0x)?[0-9a-f]{8,}\b)");
		static const std::regex num(R"(\b[0-9]+\b)");
		title = std::regex_replace(title, addr, "ADDR");
		title = std::regex_replace(title, num, "NUM");
	}
	return title;
}

} // namespace

std::vector<ConsoleFinding> classify_console(const std::string &console)
{
	std::vector<std::string_view> raw, lines;
	for (size_t pos = 0; pos < console.size();) {
		size_t eol = console.find('\n', pos);
		if (eol == std::string::npos)
			eol = console.size();
		std::string_view l(console.data() + pos, eol - pos);
		if (!l.empty() && l.back() == '\r')
			l.remove_suffix(1);
		raw.push_back(l);
		lines.push_back(strip_console_prefix(l));
		pos = eol + 1;
	}

	std::vector<Start> starts;
	for (size_t i = 0; i < lines.size(); i++)
		if (auto s = match_start(lines[i], i))
			starts.push_back(std::move(*s));

	// Trap lines that belong to the report above them are no report, nor
	// is a note printed under its header ("refcount_t: underflow" after
	// an older kernel's WARNING line) that announces nothing below.
	for (size_t k = 1; k < starts.size(); k++) {
		const Start &cur = starts[k], &prev = starts[k - 1];
		bool trailing_note = cur.rule->preamble && !prev.rule->preamble &&
				     cur.line - prev.line <= kPreambleReach &&
				     (k + 1 == starts.size() || starts[k + 1].line - cur.line > kPreambleReach);
		if (is_trap_of(cur, prev) || trailing_note)
			starts.erase(starts.begin() + k--);
	}

	std::vector<ConsoleFinding> out;
	for (size_t k = 0; k < starts.size(); k++) {
		const Start *s = &starts[k];
		size_t begin = s->line;
		// A preamble hands over to the report it announces.
		while (s->rule->preamble && k + 1 < starts.size() &&
		       starts[k + 1].line - s->line <= kPreambleReach) {
			k++;
			s = &starts[k];
		}
		size_t end = std::min(lines.size(), s->line + kMaxReportLines);
		for (size_t j = k + 1; j < starts.size(); j++)
			if (ends_report(starts[j])) {
				end = std::min(end, starts[j].line);
				break;
			}
		std::vector<std::string_view> report(lines.begin() + s->line, lines.begin() + end);
		// A rule that needs a line the report lacks gives way to the next.
		Start given_way;
		while (s->rule->needs && !has_line(report, s->rule->needs)) {
			auto next = match_start(lines[s->line], s->line, s->index + 1);
			if (!next)
				break;
			given_way = std::move(*next);
			s = &given_way;
		}
		ConsoleFinding f;
		f.kind = s->rule->kind;
		f.line = static_cast<int>(begin) + 1;
		f.text = std::string(raw[s->line]);
		f.title = make_title(*s, report);
		f.end_line = static_cast<int>(end);
		out.push_back(std::move(f));
	}
	return out;
}

namespace {
constexpr std::string_view kCrashOpen = "kernel crash \"";
constexpr std::string_view kCrashClose = "\": ";
} // namespace

std::string crash_message(const ConsoleFinding &f)
{
	return std::string(kCrashOpen) + f.title + std::string(kCrashClose) + f.text;
}

std::string crash_title_of(const std::string &message)
{
	if (message.rfind(kCrashOpen, 0) != 0)
		return {};
	auto end = message.find(kCrashClose, kCrashOpen.size());
	if (end == std::string::npos)
		return {};
	return message.substr(kCrashOpen.size(), end - kCrashOpen.size());
}

std::string console_excerpt(const std::string &console, const ConsoleFinding &f, int before,
			    int after)
{
	std::istringstream in(console);
	std::string l, out;
	int n = 0;
	while (std::getline(in, l)) {
		n++;
		if (n >= f.line - before && n <= f.line + after)
			out += l + "\n";
	}
	return out;
}

} // namespace luo::host
