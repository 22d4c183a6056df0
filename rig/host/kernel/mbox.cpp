// SPDX-License-Identifier: GPL-2.0-only
#include "host/kernel/mbox.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "host/kernel/hash.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"

namespace luo::host {

namespace fs = std::filesystem;

namespace {

std::string mbox_label(const fs::path &mailbox)
{
	return "mbox " + mailbox.string();
}

std::string trim(std::string s)
{
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
		s.pop_back();
	size_t b = 0;
	while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b])))
		b++;
	return s.substr(b);
}

std::string upper(std::string s)
{
	for (auto &c : s)
		c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
	return s;
}

bool all_digits(const std::string &s)
{
	return !s.empty() && std::all_of(s.begin(), s.end(),
					 [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// Reads one bracketed prefix ("[PATCH v2 3/5]", "[RFC PATCH net-next 03/10]")
// into `tag`; false when it is not a patch prefix (e.g. "[GIT PULL]").
bool read_prefix(const std::string &inside, SubjectTag &tag)
{
	std::istringstream words(inside);
	std::string w;
	bool patch = false;
	SubjectTag t = tag;
	while (words >> w) {
		std::string u = upper(w);
		if (u.find("PATCH") != std::string::npos || u == "RFC")
			patch = true;
		else if (u.size() > 1 && u[0] == 'V' && all_digits(u.substr(1)))
			t.version = std::stoi(u.substr(1));
		else if (auto slash = u.find('/'); slash != std::string::npos &&
			 all_digits(u.substr(0, slash)) && all_digits(u.substr(slash + 1))) {
			t.number = std::stoi(u.substr(0, slash));
			t.total = std::stoi(u.substr(slash + 1));
		}
	}
	if (!patch)
		return false;
	t.tagged = true;
	tag = t;
	return true;
}

// A line of a diff that patch(1) would act on; quoted ("> ") lines of a
// review are not.
bool carries_diff(const std::string &message)
{
	std::istringstream in(message);
	std::string line, prev;
	while (std::getline(in, line)) {
		if (line.rfind("diff --git ", 0) == 0)
			return true;
		if (line.rfind("+++ ", 0) == 0 && prev.rfind("--- ", 0) == 0)
			return true;
		prev = line;
	}
	return false;
}

// Like git format-patch: the title with every run of other characters than
// letters and digits turned into one '-', at most 52 characters.
std::string slug(const std::string &title)
{
	std::string out;
	for (char c : title) {
		if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')
			out += c;
		else if (!out.empty() && out.back() != '-')
			out += '-';
	}
	while (!out.empty() && (out.back() == '-' || out.back() == '.'))
		out.pop_back();
	if (out.size() > 52)
		out.resize(52);
	while (!out.empty() && (out.back() == '-' || out.back() == '.'))
		out.pop_back();
	return out.empty() ? "patch" : out;
}

std::string numbers(const std::set<int> &s)
{
	std::string out;
	for (int n : s)
		out += (out.empty() ? "" : ",") + std::to_string(n);
	return out.empty() ? "none" : out;
}

std::vector<std::string> split_mbox_text(const std::string &text)
{
	std::vector<std::string> out;
	std::istringstream in(text);
	std::string line, cur;
	bool started = false, blank_before = true;
	while (std::getline(in, line)) {
		bool from_line = line.rfind("From ", 0) == 0 && blank_before;
		blank_before = line.empty() || line == "\r";
		if (from_line) {
			if (started)
				out.push_back(cur);
			cur.clear();
			started = true;
			continue;
		}
		// mboxrd: one '>' was added in front of every ">*From " line.
		size_t gt = line.find_first_not_of('>');
		if (gt != std::string::npos && gt > 0 && line.compare(gt, 5, "From ") == 0)
			line.erase(0, 1);
		cur += line + "\n";
	}
	if (started)
		out.push_back(cur);
	// The blank line that separates messages is not part of the last one.
	for (auto &m : out) {
		while (m.size() >= 2 && m.compare(m.size() - 2, 2, "\n\n") == 0)
			m.pop_back();
	}
	return out;
}

int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

std::string decode_q(const std::string &s)
{
	std::string out;
	for (size_t i = 0; i < s.size(); i++) {
		if (s[i] == '_') {
			out += ' ';
		} else if (s[i] == '=' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
			   hex_value(s[i + 2]) >= 0) {
			out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
			i += 2;
		} else {
			out += s[i];
		}
	}
	return out;
}

std::string decode_b(const std::string &s)
{
	static const std::string abc =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	std::string out;
	unsigned bits = 0;
	int have = 0;
	for (char c : s) {
		auto v = abc.find(c);
		if (v == std::string::npos)
			continue; // '=' padding
		bits = (bits << 6) | static_cast<unsigned>(v);
		have += 6;
		if (have >= 8) {
			have -= 8;
			out += static_cast<char>((bits >> have) & 0xff);
		}
	}
	return out;
}

// RFC 2047: a subject with anything but ASCII in it is posted as
// =?charset?Q|B?text?= words, the [PATCH] tag included.  The text is kept
// in its charset (UTF-8 in practice); whitespace between two encoded words
// is dropped, as the RFC says.
std::string decode_words(const std::string &s)
{
	std::string out;
	size_t i = 0;
	bool last_encoded = false;
	while (i < s.size()) {
		size_t start = s.find("=?", i);
		if (start == std::string::npos) {
			out += s.substr(i);
			break;
		}
		size_t q1 = s.find('?', start + 2);
		size_t q2 = q1 == std::string::npos ? q1 : s.find('?', q1 + 1);
		size_t end = q2 == std::string::npos ? q2 : s.find("?=", q2 + 1);
		if (end == std::string::npos || q2 != q1 + 2) {
			out += s.substr(i);
			break;
		}
		std::string between = s.substr(i, start - i);
		bool blank = between.find_first_not_of(" \t") == std::string::npos;
		if (!(last_encoded && blank))
			out += between;
		char enc = static_cast<char>(std::toupper(static_cast<unsigned char>(s[q1 + 1])));
		std::string text = s.substr(q2 + 1, end - q2 - 1);
		out += enc == 'B' ? decode_b(text) : decode_q(text);
		last_encoded = true;
		i = end + 2;
	}
	return out;
}

fs::path origin_of(const fs::path &patch)
{
	return patch.string() + ".origin";
}

} // namespace

SubjectTag parse_subject(const std::string &subject)
{
	SubjectTag tag;
	std::string s = trim(subject);
	for (;;) {
		std::string u = upper(s.substr(0, 4));
		if (u.rfind("RE:", 0) == 0 || u.rfind("AW:", 0) == 0) {
			tag.reply = true;
			s = trim(s.substr(3));
		} else if (u.rfind("FWD:", 0) == 0) {
			s = trim(s.substr(4));
		} else {
			break;
		}
	}
	while (!s.empty() && s[0] == '[') {
		auto close = s.find(']');
		if (close == std::string::npos)
			break;
		if (!read_prefix(s.substr(1, close - 1), tag) && tag.tagged)
			break;
		s = trim(s.substr(close + 1));
	}
	tag.title = s;
	return tag;
}

std::optional<std::string> mail_header(const std::string &message, const std::string &name)
{
	std::istringstream in(message);
	std::string line;
	std::optional<std::string> value;
	bool in_wanted = false;
	std::string want = upper(name) + ":";
	while (std::getline(in, line)) {
		if (!line.empty() && line.back() == '\r')
			line.pop_back();
		if (line.empty())
			break;
		if (line[0] == ' ' || line[0] == '\t') {
			if (in_wanted)
				*value += " " + trim(line);
			continue;
		}
		in_wanted = false;
		if (!value && upper(line.substr(0, want.size())) == want) {
			value = trim(line.substr(want.size()));
			in_wanted = true;
		}
	}
	return value;
}

std::vector<std::string> mailbox_messages(const fs::path &mailbox)
{
	std::error_code ec;
	if (fs::is_directory(mailbox, ec)) {
		std::vector<fs::path> files;
		std::vector<fs::path> dirs;
		for (const char *sub : {"cur", "new"})
			if (fs::is_directory(mailbox / sub))
				dirs.push_back(mailbox / sub);
		if (dirs.empty())
			dirs.push_back(mailbox);
		for (const auto &d : dirs)
			for (const auto &e : fs::directory_iterator(d))
				if (e.is_regular_file())
					files.push_back(e.path());
		std::sort(files.begin(), files.end());
		std::vector<std::string> out;
		for (const auto &f : files)
			out.push_back(read_file(f));
		return out;
	}
	if (!fs::is_regular_file(mailbox, ec))
		throw SetupError(mailbox.string() +
				 ": no such mbox; pass the file `b4 am -o DIR MSGID` wrote "
				 "(DIR/*.mbx) or a maildir");
	std::string text = read_file(mailbox);
	if (text.rfind("From ", 0) != 0)
		return {text};
	return split_mbox_text(text);
}

std::vector<MailPatch> series_of(const fs::path &mailbox, const std::vector<std::string> &messages)
{
	std::vector<MailPatch> patches;
	std::set<std::string> seen;
	for (const auto &m : messages) {
		auto subject = mail_header(m, "Subject");
		if (!subject || !carries_diff(m))
			continue;
		subject = decode_words(*subject);
		// A message cross-posted to two lists comes twice in a mailbox
		// saved from both: one copy is the patch.
		if (auto id = mail_header(m, "Message-Id"); id && !seen.insert(*id).second)
			continue;
		SubjectTag tag = parse_subject(*subject);
		if (tag.reply || tag.number == 0)
			continue;
		patches.push_back({tag.number, tag.total, tag.version, *subject, tag.title, m});
	}
	const std::string where = mbox_label(mailbox);
	if (patches.empty())
		throw SetupError(where + ": no message carries a diff (" +
				 std::to_string(messages.size()) +
				 " messages read); pass the mbox of the patches themselves, "
				 "as `b4 am -o . MSGID` writes it");

	std::set<int> versions, totals;
	for (const auto &p : patches) {
		versions.insert(p.version);
		totals.insert(p.total);
	}
	if (versions.size() > 1) {
		std::string vs;
		for (int v : versions)
			vs += (vs.empty() ? "v" : ", v") + std::to_string(v);
		throw SetupError(where + ": mixes versions " + vs +
				 " of a series; keep one version (b4 am -v N MSGID)");
	}
	if (totals.size() > 1)
		throw SetupError(where + ": mixes series of " + numbers(totals) +
				 " patches; one mbox holds one series");

	std::sort(patches.begin(), patches.end(),
		  [](const MailPatch &a, const MailPatch &b) { return a.number < b.number; });
	int total = *totals.begin();
	std::set<int> have;
	for (size_t i = 0; i < patches.size(); i++) {
		const auto &p = patches[i];
		if (p.number > total)
			throw SetupError(where + ": patch " + std::to_string(p.number) + "/" +
					 std::to_string(total) + " \"" + p.subject +
					 "\" numbers past the end of its series");
		if (i > 0 && patches[i - 1].number == p.number)
			throw SetupError(where + ": patch " + std::to_string(p.number) + "/" +
					 std::to_string(total) + " is there twice (\"" +
					 patches[i - 1].subject + "\" and \"" + p.subject +
					 "\"): two postings are mixed; keep one");
		have.insert(p.number);
	}
	std::string missing;
	for (int n = 1; n <= total; n++)
		if (!have.count(n))
			missing += (missing.empty() ? "" : ", ") + std::to_string(n) + "/" +
				   std::to_string(total);
	if (!missing.empty())
		throw SetupError(where + ": patch " + missing + " missing (the mbox has " +
				 numbers(have) + " of " + std::to_string(total) +
				 "); fetch the whole series (b4 am -o . MSGID)");
	return patches;
}

std::vector<fs::path> split_mailbox(const fs::path &mailbox, const fs::path &out_root)
{
	auto patches = series_of(mailbox, mailbox_messages(mailbox));
	Hasher h;
	for (const auto &p : patches)
		h.add(p.text);
	fs::path dir = out_root / h.hex().substr(0, 16);
	fs::create_directories(dir);
	std::vector<fs::path> out;
	for (const auto &p : patches) {
		char num[8];
		std::snprintf(num, sizeof(num), "%04d", p.number);
		fs::path file = dir / (std::string(num) + "-" + slug(p.title) + ".patch");
		write_file_atomic(file, p.text);
		write_file_atomic(origin_of(file),
				  "patch " + std::to_string(p.number) + "/" + std::to_string(p.total) +
					  " \"" + p.subject + "\" of " + mbox_label(mailbox));
		out.push_back(file);
	}
	return out;
}

std::optional<std::string> mail_patch_origin(const fs::path &patch)
{
	fs::path origin = origin_of(patch);
	std::error_code ec;
	if (!fs::is_regular_file(origin, ec))
		return std::nullopt;
	return read_file(origin);
}

void copy_mail_patch(const fs::path &patch, const fs::path &to)
{
	fs::copy_file(patch, to);
	if (auto origin = mail_patch_origin(patch))
		write_file_atomic(origin_of(to), *origin);
}

} // namespace luo::host
