// SPDX-License-Identifier: GPL-2.0-only
//
// A posted series given as a mailbox goes into the kernel the guest boots,
// and one that does not apply stops the run before any build or boot.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e_support.hpp"
#include "host/kernel/kernel_build.hpp"
#include "host/util/errors.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/paths.hpp"

using namespace luo;
namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;

namespace {

const std::string kSep = "From mbox-test Thu Jan  1 00:00:00 1970\n";

const std::string kCover = "From: Luo Rig <luo-rig@example.invalid>\n"
			   "Date: Fri, 4 Dec 2026 11:59:00 +0000\n"
			   "Subject: [PATCH 0/1] print a line for the mbox test\n"
			   "Message-Id: <mbox-test-0@luo-rig.invalid>\n"
			   "\n"
			   "A series of one patch.\n";

// One line in liveupdate_ioctl_init() of 7.3.4, which the rig's own series
// leaves alone.  pr_notice: the rig boots with loglevel=6, which hides
// pr_info.
std::string print_patch(const std::string &tag)
{
	return "From: Luo Rig <luo-rig@example.invalid>\n"
	       "Date: Fri, 4 Dec 2026 12:00:00 +0000\n"
	       "Subject: " + tag + " liveupdate: print a line for the mbox test\n"
	       "Message-Id: <mbox-test-1@luo-rig.invalid>\n"
	       "\n"
	       "The rig's end-to-end test of --mbox looks for this line on the guest\n"
	       "console.\n"
	       "\n"
	       "Signed-off-by: Luo Rig <luo-rig@example.invalid>\n"
	       "---\n"
	       " kernel/liveupdate/luo_core.c | 1 +\n"
	       " 1 file changed, 1 insertion(+)\n"
	       "\n"
	       "diff --git a/kernel/liveupdate/luo_core.c b/kernel/liveupdate/luo_core.c\n"
	       "--- a/kernel/liveupdate/luo_core.c\n"
	       "+++ b/kernel/liveupdate/luo_core.c\n"
	       "@@ -437,6 +437,7 @@ static int __init liveupdate_ioctl_init(void)\n"
	       " \tif (!liveupdate_enabled())\n"
	       " \t\treturn 0;\n"
	       " \n"
	       "+\tpr_notice(\"luo-rig mbox test\\n\");\n"
	       " \treturn misc_register(&luo_dev.miscdev);\n"
	       " }\n"
	       " late_initcall(liveupdate_ioctl_init);\n"
	       "-- \n"
	       "2.47.0\n";
}

// Its first hunk applies; the second's context is not in 7.3.4.
const std::string kOtherTree =
	"From: Luo Rig <luo-rig@example.invalid>\n"
	"Date: Fri, 4 Dec 2026 12:00:00 +0000\n"
	"Subject: [PATCH v2 2/2] liveupdate: a patch for another tree\n"
	"Message-Id: <mbox-test-2@luo-rig.invalid>\n"
	"\n"
	"Its second hunk's context is not in 7.3.4.\n"
	"\n"
	"Signed-off-by: Luo Rig <luo-rig@example.invalid>\n"
	"---\n"
	"diff --git a/kernel/liveupdate/luo_core.c b/kernel/liveupdate/luo_core.c\n"
	"--- a/kernel/liveupdate/luo_core.c\n"
	"+++ b/kernel/liveupdate/luo_core.c\n"
	"@@ -193,6 +193,7 @@ static int __init luo_late_startup(void)\n"
	" {\n"
	" \tint err;\n"
	" \n"
	"+\tpr_notice(\"luo-rig late startup\\n\");\n"
	" \tif (!liveupdate_enabled())\n"
	" \t\treturn 0;\n"
	" \n"
	"@@ -437,6 +438,7 @@ static int __init liveupdate_ioctl_init(void)\n"
	" \tif (!liveupdate_enabled())\n"
	" \t\treturn -ENODEV;\n"
	" \n"
	"+\tpr_notice(\"not in this tree\\n\");\n"
	" \treturn misc_register(&luo_dev.miscdev);\n"
	" }\n"
	" late_initcall(liveupdate_ioctl_init);\n"
	"-- \n"
	"2.47.0\n";

fs::path write_mbox(const std::string &name, const std::vector<std::string> &messages)
{
	fs::path dir = fs::path(LUO_RIG_BINARY_DIR) / "e2e-mbox";
	fs::create_directories(dir);
	std::ofstream out(dir / name);
	for (const auto &m : messages)
		out << kSep << m << "\n";
	return dir / name;
}

int count_of(const std::string &text, const std::string &what)
{
	int n = 0;
	for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
		n++;
	return n;
}

} // namespace

TEST_CASE("a series from an mbox is in the kernel both boots run", "[e2e][mbox]")
{
	auto mbox = write_mbox("print.mbx", {kCover, print_patch("[PATCH 1/1]")});
	auto cfg = e2e::config_for({"scenarios/smoke/memfd.json"}, "mbox");
	cfg.kernel.mboxes = {mbox};
	auto rep = host::run_suite(cfg);

	REQUIRE(rep.cases.size() >= 1);
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << " " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
	}
	CHECK(rep.exit_code == 0);

	// Built (not found in the cache): on top of the default kernel's
	// objects, whatever ran in its workspace before, a tree without
	// LIVEUPDATE among them (test_kernel_pipeline.cpp).
	if (!rep.summary.kernel_from_cache) {
		auto k = nlohmann::json::parse(host::read_file(
			host::cache_root() / "kernels" / rep.summary.kernel_key / "kernel.json"));
		CHECK(k.value("incremental", false));
	}

	// The line the patch adds, printed by the kernel that booted first and
	// by the one it kexec'd into.
	int printed = 0;
	for (const auto &e : fs::directory_iterator(rep.summary.run_dir)) {
		fs::path console = e.path() / "console.log";
		if (!fs::exists(console))
			continue;
		std::stringstream text;
		text << std::ifstream(console).rdbuf();
		printed += count_of(text.str(), "luo-rig mbox test");
	}
	CHECK(printed >= 2);
}

TEST_CASE("an mbox patch that does not apply stops the run naming it and its hunk",
	  "[e2e][mbox]")
{
	auto mbox = write_mbox("other-tree.mbx",
			       {kOtherTree, print_patch("[PATCH v2 1/2]")});
	auto cfg = e2e::config_for({"scenarios/smoke/memfd.json"}, "mbox-bad");
	cfg.kernel.mboxes = {mbox};
	auto entries = [] {
		int n = 0;
		for ([[maybe_unused]] const auto &e :
		     fs::directory_iterator(host::cache_root() / "kernels"))
			n++;
		return n;
	};
	int before = entries();
	try {
		host::run_suite(cfg);
		FAIL("the run went ahead");
	} catch (const host::SetupError &e) {
		std::string msg = e.what();
		CHECK_THAT(msg, ContainsSubstring("patch 2/2"));
		CHECK_THAT(msg, ContainsSubstring("\"[PATCH v2 2/2] liveupdate: a patch for another tree\""));
		CHECK_THAT(msg, ContainsSubstring("mbox " + mbox.string()));
		CHECK_THAT(msg, ContainsSubstring("patching file kernel/liveupdate/luo_core.c"));
		CHECK_THAT(msg, ContainsSubstring("Hunk #2 FAILED"));
	}
	CHECK(entries() == before);
	// Stopped before the first boot: no VM wrote a console.
	std::error_code ec;
	for (const auto &e : fs::recursive_directory_iterator(cfg.out_dir, ec))
		CHECK(e.path().filename() != "console.log");
}
