// SPDX-License-Identifier: GPL-2.0-only
//
// A posted patch series as a mailbox (what `b4 am` or a mail client saves):
// split into its messages, the patches picked by their [PATCH vN M/K] tags
// and checked to form one whole series before anything is built.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace luo::host {

// What the subject of a posted message says about it.
struct SubjectTag {
	bool reply = false;    // "Re: ..."
	bool tagged = false;   // carried a [PATCH ...] (or [RFC ...]) prefix
	int version = 1;       // vN, 1 when absent
	int number = 1;        // M of M/K, 1 when absent (a single patch)
	int total = 1;         // K of M/K
	std::string title;     // the subject without prefixes
};

SubjectTag parse_subject(const std::string &subject);

// The messages of an mbox file (split at "From " lines, >From unescaped) or
// of a maildir (a directory: its cur/ and new/, else its files).  A file
// that does not start with a "From " line is one message (a single
// format-patch file).
std::vector<std::string> mailbox_messages(const std::filesystem::path &mailbox);

// One patch of a series, in the order it applies.
struct MailPatch {
	int number = 1;
	int total = 1;
	int version = 1;
	std::string subject; // as posted, prefixes included
	std::string title;   // without them: names the patch file
	std::string text;    // the whole message, headers included
};

// The patches of `messages` in series order: messages without a diff (cover
// letter, review) and replies are dropped.  No patch at all, two versions
// or two series mixed, a number posted twice or one missing: SetupError
// naming `mailbox` and what is wrong.
std::vector<MailPatch> series_of(const std::filesystem::path &mailbox,
				 const std::vector<std::string> &messages);

// The value of a header of a message (continuation lines unfolded), if any.
std::optional<std::string> mail_header(const std::string &message, const std::string &name);

// Writes the series of `mailbox` as patch files under `out_root` (in a
// directory named by the content of the series, so a run sees the same
// names again) and returns them in order.  Beside each, `<patch>.origin`
// says which mailbox and n/k it came from, for error messages; it is not
// part of the cache key.
std::vector<std::filesystem::path> split_mailbox(const std::filesystem::path &mailbox,
						 const std::filesystem::path &out_root);

// "patch n/k "subject" of MAILBOX", when `patch` was split from a mailbox.
std::optional<std::string> mail_patch_origin(const std::filesystem::path &patch);

// Copies `patch` to `to`, and its origin with it when it has one, so a copy
// still names the mail it came from when it does not apply.
void copy_mail_patch(const std::filesystem::path &patch, const std::filesystem::path &to);

} // namespace luo::host
