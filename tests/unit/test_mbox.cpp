// SPDX-License-Identifier: GPL-2.0-only
//
// Posted series: mailboxes split into patches in series order, the series
// checked whole before any build, b4's failures explained, and the cache key
// following every byte that is applied.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <fstream>
#include <unistd.h>

#include "host/kernel/b4_series.hpp"
#include "host/kernel/kernel_build.hpp"
#include "host/kernel/mbox.hpp"
#include "host/kernel/patches.hpp"
#include "host/kernel/workspace.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"

using namespace luo::host;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string &name)
{
	fs::path d = fs::temp_directory_path() /
		     ("luo-rig-mbox-" + name + "-" + std::to_string(getpid()));
	fs::remove_all(d);
	fs::create_directories(d);
	return d;
}

void put(const fs::path &p, const std::string &text)
{
	fs::create_directories(p.parent_path());
	std::ofstream(p) << text;
}

const std::string kSep = "From luo-rig Thu Jan  1 00:00:00 1970\n";

// Each message its own Message-Id, as posted.
std::string message(const std::string &subject, const std::string &body)
{
	static int n = 0;
	return "From: Dev <dev@example.org>\nSubject: " + subject + "\nMessage-Id: <" +
	       std::to_string(++n) + "@example.org>\n\n" + body;
}

std::string diff(const std::string &file, const std::string &from, const std::string &to)
{
	return "---\n diff stat\n\ndiff --git a/" + file + " b/" + file + "\n--- a/" + file +
	       "\n+++ b/" + file + "\n@@ -1 +1 @@\n-" + from + "\n+" + to + "\n-- \n2.47.0\n";
}

std::string mbox(const std::vector<std::string> &messages)
{
	std::string out;
	for (const auto &m : messages)
		out += kSep + m + "\n";
	return out;
}

// A cover letter, patches 2/2 and 1/2 in the wrong order, and a review of
// 1/2 that quotes its diff.
std::string posted_series()
{
	return mbox({message("[PATCH v2 0/2] two changes", "Cover letter.\n"),
		     message("[PATCH v2 2/2] b: second",
			     ">From the start.\n" + diff("b.c", "b = 1;", "b = 2;")),
		     message("[PATCH v2 1/2] a: first", diff("a.c", "a = 1;", "a = 2;")),
		     message("Re: [PATCH v2 1/2] a: first",
			     "> diff --git a/a.c b/a.c\n> -a = 1;\n\nLooks good.\n")});
}

std::vector<std::string> subjects(const std::vector<MailPatch> &ps)
{
	std::vector<std::string> out;
	for (const auto &p : ps)
		out.push_back(p.subject);
	return out;
}

} // namespace

TEST_CASE("subjects: version, number, total and title of a posted patch", "[unit][mbox]")
{
	auto t = parse_subject("[PATCH v3 04/12] liveupdate: do it");
	CHECK((t.tagged && !t.reply && t.version == 3 && t.number == 4 && t.total == 12));
	CHECK(t.title == "liveupdate: do it");

	t = parse_subject("[RFC PATCH net-next 2/5] x");
	CHECK((t.version == 1 && t.number == 2 && t.total == 5 && t.title == "x"));

	t = parse_subject("[PATCH] one fix");
	CHECK((t.tagged && t.number == 1 && t.total == 1 && t.title == "one fix"));

	t = parse_subject("[RFC] [PATCH v2 1/3] split tags");
	CHECK((t.version == 2 && t.number == 1 && t.total == 3 && t.title == "split tags"));

	CHECK(parse_subject("Re: [PATCH v2 1/2] a").reply);
	CHECK(parse_subject("RE: Re: [PATCH 1/2] a").reply);
	CHECK_FALSE(parse_subject("[GIT PULL] stuff").tagged);
	CHECK(parse_subject("no tag at all").title == "no tag at all");
}

TEST_CASE("headers: folded subjects are unfolded, the body is not searched", "[unit][mbox]")
{
	std::string m = "From: a\nSubject: [PATCH 1/2] a long\n subject line\nX: y\n\n"
			"Subject: not a header\n";
	CHECK(mail_header(m, "subject") == "[PATCH 1/2] a long subject line");
	CHECK_FALSE(mail_header("From: a\n\nX-Other: b\n", "X-Other"));
}

TEST_CASE("a mailbox gives its patches in series order, without cover letter or replies",
	  "[unit][mbox]")
{
	auto d = scratch("order");
	put(d / "s.mbx", posted_series());
	auto msgs = mailbox_messages(d / "s.mbx");
	REQUIRE(msgs.size() == 4);
	auto ps = series_of(d / "s.mbx", msgs);
	CHECK(subjects(ps) ==
	      std::vector<std::string>{"[PATCH v2 1/2] a: first", "[PATCH v2 2/2] b: second"});
	// mboxrd's escape is taken off; the message ends where the next begins.
	CHECK_THAT(ps[1].text, ContainsSubstring("\nFrom the start.\n"));
	CHECK(ps[1].text.substr(ps[1].text.size() - 8) == "\n2.47.0\n");

	auto files = split_mailbox(d / "s.mbx", d / "out");
	REQUIRE(files.size() == 2);
	CHECK(files[0].filename() == "0001-a-first.patch");
	CHECK(files[1].filename() == "0002-b-second.patch");
	CHECK(read_file(files[1]) == ps[1].text);
	CHECK(mail_patch_origin(files[1]) ==
	      "patch 2/2 \"[PATCH v2 2/2] b: second\" of mbox " + (d / "s.mbx").string());

	// The same messages as a maildir.
	put(d / "md/cur/1", message("[PATCH 2/2] b", diff("b.c", "1", "2")));
	put(d / "md/new/2", message("[PATCH 1/2] a", diff("a.c", "1", "2")));
	CHECK(subjects(series_of(d / "md", mailbox_messages(d / "md"))) ==
	      std::vector<std::string>{"[PATCH 1/2] a", "[PATCH 2/2] b"});

	// One format-patch file, no "From " line: one message.
	put(d / "one.patch", message("[PATCH] fix", diff("a.c", "1", "2")));
	CHECK(series_of(d / "one.patch", mailbox_messages(d / "one.patch")).size() == 1);
	fs::remove_all(d);
}

TEST_CASE("an incomplete or mixed series stops the run naming the mbox and what is wrong",
	  "[unit][mbox]")
{
	auto d = scratch("bad");
	fs::path f = d / "s.mbx";
	auto fails = [&](const std::vector<std::string> &msgs, const std::string &what) {
		put(f, mbox(msgs));
		try {
			series_of(f, mailbox_messages(f));
			FAIL("accepted: " + what);
		} catch (const SetupError &e) {
			CHECK_THAT(e.what(), ContainsSubstring("mbox " + f.string()));
			CHECK_THAT(e.what(), ContainsSubstring(what));
		}
	};
	auto p = [](const std::string &tag, const std::string &file) {
		return message(tag + " t", diff(file, "x", "y"));
	};
	fails({p("[PATCH 1/5]", "a"), p("[PATCH 2/5]", "b"), p("[PATCH 4/5]", "d"),
	       p("[PATCH 5/5]", "e")},
	      "patch 3/5 missing");
	fails({p("[PATCH 1/3]", "a")}, "patch 2/3, 3/3 missing");
	fails({p("[PATCH v2 1/2]", "a"), p("[PATCH v3 2/2]", "b")}, "mixes versions v2, v3");
	fails({p("[PATCH 1/2]", "a"), p("[PATCH 1/2]", "a2"), p("[PATCH 2/2]", "b")},
	      "patch 1/2 is there twice");
	fails({p("[PATCH 1/2]", "a"), p("[PATCH 2/3]", "b")}, "mixes series of 2,3 patches");
	fails({message("[PATCH 0/2] cover", "Just words.\n"),
	       message("Re: [PATCH 1/2] x", "> diff --git a/x b/x\n")},
	      "no message carries a diff (2 messages read)");
	CHECK_THROWS_AS(mailbox_messages(d / "absent.mbx"), SetupError);
	fs::remove_all(d);
}

TEST_CASE("message-ids are taken bare, in <>, or out of an archive URL", "[unit][mbox]")
{
	CHECK(normalise_msgid("20261201.1234-1-dev@example.org") == "20261201.1234-1-dev@example.org");
	CHECK(normalise_msgid(" <20261201.1234-1-dev@example.org> ") ==
	      "20261201.1234-1-dev@example.org");
	CHECK(normalise_msgid("https://archive.example.org/all/20261201.1234-1-dev@example.org/") ==
	      "20261201.1234-1-dev@example.org");
	CHECK(normalise_msgid("https://archive.example.org/list/20261201.1234-1-dev%40example.org/T/#u") ==
	      "20261201.1234-1-dev@example.org");
	CHECK(normalise_msgid("https://archive.example.org/r/abc@example.org/raw") ==
	      "abc@example.org");
	CHECK_THROWS_AS(normalise_msgid("https://archive.example.org/all/"), SetupError);
	CHECK_THROWS_AS(normalise_msgid("not-a-message-id"), SetupError);
	CHECK_THROWS_AS(normalise_msgid(""), SetupError);
}

namespace {

// PATH holding only a fake b4 (and what a shell script needs).
struct FakeB4 {
	fs::path dir;
	std::string saved;
	explicit FakeB4(const std::string &script, bool system_path = true)
	{
		dir = scratch("b4");
		put(dir / "bin/b4", "#!/bin/sh\n" + script);
		fs::permissions(dir / "bin/b4", fs::perms::owner_all);
		saved = std::getenv("PATH") ? std::getenv("PATH") : "";
		std::string path = (dir / "bin").string();
		if (system_path)
			path += ":/usr/bin:/bin";
		setenv("PATH", path.c_str(), 1);
	}
	~FakeB4()
	{
		setenv("PATH", saved.c_str(), 1);
		fs::remove_all(dir);
	}
};

std::string setup_error_of(const std::function<void()> &f)
{
	try {
		f();
	} catch (const SetupError &e) {
		return e.what();
	}
	return "(no error)";
}

} // namespace

TEST_CASE("b4 failing names the message-id, b4's last error and the way around it",
	  "[unit][mbox]")
{
	const std::string id = "20261201.1234-1-dev@example.org";
	{
		FakeB4 b4("echo 'Grabbing thread from archive' >&2\n"
			  "echo 'Looking up https://archive.example.org/all/x'\n"
			  "echo 'ERROR: could not connect to the archive' >&2\nexit 1\n");
		auto what = setup_error_of([&] { fetch_series(id, b4.dir / "series"); });
		CHECK_THAT(what, ContainsSubstring("--series " + id));
		CHECK_THAT(what, ContainsSubstring("ERROR: could not connect to the archive"));
		CHECK_THAT(what, ContainsSubstring("fetch the series elsewhere (b4 am -o . " + id +
						   ") and pass --mbox FILE"));
	}
	{
		// Success: the mbox it wrote, found in its own directory.
		FakeB4 b4("[ \"$1\" = am ] && [ \"$2\" = -o ] || exit 9\n"
			  "echo 'From x' > \"$3/v2_20261201_dev.mbx\"\n"
			  "echo cover > \"$3/v2_20261201_dev.cover\"\n");
		auto got = fetch_series(id, b4.dir / "series");
		CHECK(got == b4.dir / "series" / id / "v2_20261201_dev.mbx");
	}
	{
		FakeB4 b4("exit 0\n", false);
		fs::remove(b4.dir / "bin/b4");
		auto what = setup_error_of([&] { fetch_series(id, b4.dir / "series"); });
		CHECK_THAT(what, ContainsSubstring("apt-get install b4"));
	}
}

TEST_CASE("the cache key follows every byte of an applied mailbox patch", "[unit][mbox]")
{
	auto d = scratch("key");
	const char *old_cache = std::getenv("LUO_RIG_CACHE");
	std::string saved = old_cache ? old_cache : "";
	setenv("LUO_RIG_CACHE", (d / "cache").c_str(), 1);

	std::string text = posted_series();
	put(d / "s.mbx", text);
	KernelOptions k;
	k.default_patches = false;
	k.mboxes = {d / "s.mbx"};
	auto key_now = [&] { return kernel_key("src", "gcc", patch_list(k), {}); };
	std::string before = key_now();
	CHECK(key_now() == before); // same mbox, same key

	auto at = text.find("b = 2;");
	text[at + 4] = '3'; // one byte of patch 2/2
	put(d / "s.mbx", text);
	CHECK(key_now() != before);

	// Nothing of it lands in the source tree: the patches are in the cache.
	for (const auto &p : patch_list(k))
		CHECK(p.string().rfind((d / "cache" / "mbox").string(), 0) == 0);

	if (old_cache)
		setenv("LUO_RIG_CACHE", saved.c_str(), 1);
	else
		unsetenv("LUO_RIG_CACHE");
	fs::remove_all(d);
}

TEST_CASE("a mailbox patch that does not apply names the mbox, n/k, subject and hunk",
	  "[unit][mbox]")
{
	auto d = scratch("apply");
	put(d / "tree/a.c", "a = 1;\n");
	put(d / "tree/b.c", "b = 1;\n");
	put(d / "s.mbx", mbox({message("[PATCH 1/2] a: first", diff("a.c", "a = 1;", "a = 2;")),
			       message("[PATCH 2/2] b: second", diff("b.c", "b = 5;", "b = 6;"))}));
	auto patches = split_mailbox(d / "s.mbx", d / "out");
	try {
		apply_patches(d / "tree", patches, d / "log");
		FAIL("applied");
	} catch (const PatchError &e) {
		CHECK_THAT(e.what(), ContainsSubstring("patch 2/2 \"[PATCH 2/2] b: second\" of mbox " +
						       (d / "s.mbx").string()));
		CHECK_THAT(e.what(), ContainsSubstring("patching file b.c"));
		CHECK_THAT(e.what(), ContainsSubstring("Hunk #1 FAILED at 1"));
		// Nothing of the rig's own under it: the fix is the series' base.
		CHECK_THAT(e.what(), ContainsSubstring("put what it depends on"));
		CHECK_THAT(e.what(), !ContainsSubstring("--no-default-patches"));
	}
	fs::remove_all(d);
}

TEST_CASE("a series that stops half-way leaves nothing applied for the next sync",
	  "[unit][mbox]")
{
	auto d = scratch("half");
	fs::path pristine = d / "tree", copy = d / "ws/src";
	put(pristine / "a.c", "a = 1;\n");
	put(pristine / "b.c", "b = 1;\n");
	fs::last_write_time(pristine / "a.c", fs::file_time_type::clock::now() - std::chrono::hours(24));
	put(d / "bad.mbx", mbox({message("[PATCH 1/2] a", diff("a.c", "a = 1;", "a = 7;")),
				 message("[PATCH 2/2] b", diff("b.c", "b = 5;", "b = 6;"))}));
	auto bad = split_mailbox(d / "bad.mbx", d / "out");
	fs::create_directories(copy.parent_path());
	sync_patched_copy(pristine, true, copy, {}, d / "log");
	CHECK_THROWS_AS(sync_patched_copy(pristine, true, copy, bad, d / "log"), PatchError);
	REQUIRE(read_file(copy / "a.c") == "a = 7;\n"); // 1/2 went in before 2/2 failed
	// Same size and time as the tree's file: only the record can tell.
	fs::last_write_time(copy / "a.c", fs::last_write_time(pristine / "a.c"));
	sync_patched_copy(pristine, true, copy, {}, d / "log");
	CHECK(read_file(copy / "a.c") == "a = 1;\n");
	CHECK_FALSE(fs::exists(copy / "b.c.rej"));
	fs::remove_all(d);
}

TEST_CASE("a cross-posted patch saved twice counts once", "[unit][mbox]")
{
	auto d = scratch("dup");
	auto m1 = message("[PATCH 1/2] a", diff("a.c", "1", "2"));
	put(d / "s.mbx", mbox({m1, m1, message("[PATCH 2/2] b", diff("b.c", "1", "2"))}));
	CHECK(series_of(d / "s.mbx", mailbox_messages(d / "s.mbx")).size() == 2);
	fs::remove_all(d);
}

TEST_CASE("a prebuilt kernel with a series to apply is refused, not run without it",
	  "[unit][mbox]")
{
	KernelOptions k;
	k.kernel = "/nonexistent/bzImage";
	k.mboxes = {"/tmp/x.mbx"};
	k.series = {"id@example.org"};
	try {
		obtain_kernel(k);
		FAIL("accepted");
	} catch (const SetupError &e) {
		CHECK_THAT(e.what(), ContainsSubstring("--mbox /tmp/x.mbx --series id@example.org"));
		CHECK_THAT(e.what(), ContainsSubstring("a prebuilt image cannot take patches"));
	}
}

TEST_CASE("subjects posted as RFC 2047 encoded words are decoded before parsing",
	  "[unit][mbox]")
{
	auto d = scratch("2047");
	// "[PATCH v2 1/2] mm: café" in Q, and "[PATCH v2 2/2] b" in B, folded.
	put(d / "s.mbx",
	    mbox({message("=?UTF-8?q?=5BPATCH_v2_1/2=5D_mm=3A_caf=C3=A9?=",
			  diff("a.c", "1", "2")),
		  message("=?utf-8?B?W1BBVENIIHYyIDIv?=\n =?utf-8?B?Ml0gYg==?=",
			  diff("b.c", "1", "2"))}));
	auto ps = series_of(d / "s.mbx", mailbox_messages(d / "s.mbx"));
	REQUIRE(ps.size() == 2);
	CHECK(ps[0].subject == "[PATCH v2 1/2] mm: caf\xc3\xa9");
	CHECK(ps[1].subject == "[PATCH v2 2/2] b");
	CHECK(ps[1].version == 2);
	fs::remove_all(d);
}

TEST_CASE("a hunk whose context differs is refused, not applied with fuzz", "[unit][mbox]")
{
	auto d = scratch("fuzz");
	// The patch's first context line is "a"; the tree has "A".  patch(1)'s
	// default fuzz would drop that line and apply the change anyway.
	put(d / "tree/f.c", "A\nb\nc\nd\ne\nf\ng\n");
	put(d / "s.mbx",
	    mbox({message("[PATCH 1/1] f: change d",
			  "---\n f.c | 2 +-\n\ndiff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n"
			  "@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n-- \n2.47.0\n")}));
	auto patches = split_mailbox(d / "s.mbx", d / "out");
	try {
		apply_patches(d / "tree", patches, d / "log");
		FAIL("applied with fuzz");
	} catch (const PatchError &e) {
		CHECK_THAT(e.what(), ContainsSubstring("Hunk #1 FAILED at 1"));
	}
	CHECK(read_file(d / "tree/f.c") == "A\nb\nc\nd\ne\nf\ng\n");

	// The same hunk two lines further down, context intact, still applies.
	put(d / "tree/f.c", "x\ny\na\nb\nc\nd\ne\nf\ng\n");
	apply_patches(d / "tree", patches, d / "log");
	CHECK(read_file(d / "tree/f.c") == "x\ny\na\nb\nc\nD\ne\nf\ng\n");
	fs::remove_all(d);
}
