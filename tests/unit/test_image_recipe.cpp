// SPDX-License-Identifier: GPL-2.0-only
//
// Guest image recipes: the rig's own images come out as they did when they
// were written in C++, and every mistake in a recipe is reported with the
// file, the place and the fix.
#include <archive.h>
#include <archive_entry.h>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "host/image/recipe.hpp"
#include "host/util/errors.hpp"

using namespace luo;
using host::ImageEntry;
using host::ImageInput;
using host::ImageInputs;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

using T = ImageEntry::Type;

struct TempDir {
	fs::path path = fs::temp_directory_path() /
			("luo-rig-unit-recipe-" + std::to_string(getpid()));
	TempDir() { fs::create_directories(path); }
	~TempDir() { fs::remove_all(path); }
	fs::path write(const std::string &name, const std::string &text) const
	{
		fs::create_directories((path / name).parent_path());
		std::ofstream(path / name) << text;
		return path / name;
	}
};

// The images as guest_image() listed them in C++ before the recipes, except
// that directories are 0755: the old list left them at ImageEntry's file
// default, 0644, which write_initramfs() never meant.
std::vector<ImageEntry> old_image(const fs::path &vmm, const fs::path &kernel,
				  const std::string &plan, const fs::path &busybox)
{
	std::vector<ImageEntry> e{
		{T::dir, "dev", {}, {}, {}, 0755},
		{T::chardev, "dev/console", {}, {}, {}, 0600, 5, 1},
		{T::dir, "proc", {}, {}, {}, 0755},
		{T::dir, "sys", {}, {}, {}, 0755},
		{T::dir, "tmp", {}, {}, {}, 0755},
		{T::dir, "boot", {}, {}, {}, 0755},
		{T::file, "boot/bzImage", kernel, {}, {}, 0644},
		{T::file, "plan.jsonl", {}, plan, {}, 0644},
	};
	if (busybox.empty()) {
		e.push_back({T::file, "init", vmm, {}, {}, 0755});
		return e;
	}
	e.push_back({T::dir, "bin", {}, {}, {}, 0755});
	e.push_back({T::file, "bin/busybox", busybox, {}, {}, 0755});
	e.push_back({T::symlink, "bin/sh", {}, {}, "busybox", 0777});
	e.push_back({T::file, "bin/luo-vmm", vmm, {}, {}, 0755});
	e.push_back({T::file, "init", {},
		     "#!/bin/busybox sh\n"
		     "/bin/busybox --install -s /bin\n"
		     "mount -t proc proc /proc; mount -t sysfs sysfs /sys\n"
		     "mount -t devtmpfs devtmpfs /dev; mount -t tmpfs tmpfs /tmp\n"
		     "echo 'luo-rig shell: the plan is /plan.jsonl (a line per boot); /bin/luo-vmm runs it.'\n"
		     "exec setsid cttyhack sh\n",
		     {}, 0755});
	return e;
}

// What the guest's kernel will see: type, mode, content or target of each
// path, in archive order.
struct Unpacked {
	std::string path;
	unsigned type;
	unsigned perm;
	std::string data;
	bool operator==(const Unpacked &) const = default;
};

std::vector<Unpacked> unpack(const fs::path &cpio)
{
	archive *a = archive_read_new();
	archive_read_support_format_cpio(a);
	REQUIRE(archive_read_open_filename(a, cpio.c_str(), 1 << 16) == ARCHIVE_OK);
	std::vector<Unpacked> out;
	archive_entry *e;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		Unpacked u{archive_entry_pathname(e), archive_entry_filetype(e),
			   static_cast<unsigned>(archive_entry_perm(e)), {}};
		if (u.type == AE_IFLNK)
			u.data = archive_entry_symlink(e);
		else if (u.type == AE_IFCHR)
			u.data = std::to_string(archive_entry_rdevmajor(e)) + ":" +
				 std::to_string(archive_entry_rdevminor(e));
		char buf[4096];
		la_ssize_t n;
		while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
			u.data.append(buf, n);
		out.push_back(u);
	}
	archive_read_free(a);
	return out;
}

std::string data(const ImageEntry &e)
{
	if (e.source.empty())
		return e.content;
	std::ifstream in(e.source, std::ios::binary);
	return {std::istreambuf_iterator<char>(in), {}};
}

void same_entries(const std::vector<ImageEntry> &got, const std::vector<ImageEntry> &want)
{
	REQUIRE(got.size() == want.size());
	for (std::size_t i = 0; i < got.size(); i++) {
		INFO("entry " << i << " " << want[i].path);
		CHECK(got[i].type == want[i].type);
		CHECK(got[i].path == want[i].path);
		// The shell's /init was a literal and is now a file: same bytes.
		if (want[i].source.empty())
			CHECK(data(got[i]) == want[i].content);
		else
			CHECK(got[i].source == want[i].source);
		CHECK(got[i].target == want[i].target);
		CHECK(got[i].mode == want[i].mode);
		CHECK(got[i].major == want[i].major);
		CHECK(got[i].minor == want[i].minor);
	}
}

// The message of the SetupError a recipe raises ("" when it loads).
std::string error_of(const TempDir &d, const std::string &entries, const ImageInputs &in = {})
{
	fs::path f = d.write("bad.json", "{\n  \"description\": \"x\",\n  \"entries\": [\n" +
						 entries + "\n  ]\n}\n");
	try {
		host::load_image(f.string(), in);
	} catch (const host::SetupError &e) {
		std::string msg = e.what();
		CHECK_THAT(msg, ContainsSubstring(f.string() + ":"));
		return msg;
	}
	return "";
}

} // namespace

TEST_CASE("the vmm and shell recipes make the images the C++ list made", "[unit][image]")
{
	TempDir d;
	fs::path vmm = d.write("luo-vmm", "ELF vmm");
	fs::path kernel = d.write("bzImage", "kernel");
	fs::path busybox = d.write("busybox", "ELF busybox");
	std::string plan = "{\"version\": 1}";

	for (bool shell : {false, true}) {
		INFO((shell ? "shell" : "vmm"));
		fs::path bb = shell ? busybox : fs::path();
		auto got = host::guest_image(vmm, kernel, plan, bb);
		auto want = old_image(vmm, kernel, plan, bb);
		same_entries(got, want);

		// And the guest unpacks the same paths, types, modes and bytes.
		host::write_initramfs(d.path / "new.cpio", got);
		host::write_initramfs(d.path / "old.cpio", want);
		auto unpacked = unpack(d.path / "new.cpio");
		CHECK(unpacked == unpack(d.path / "old.cpio"));
		CHECK(host::list_initramfs(d.path / "new.cpio").size() == want.size());
		for (const auto &u : unpacked) {
			if (u.path == "init")
				CHECK(u.perm == 0755);
			if (u.path == "dev/console")
				CHECK((u.type == AE_IFCHR && u.perm == 0600 && u.data == "5:1"));
			if (u.path == "plan.jsonl")
				CHECK(u.data == plan);
		}
	}
}

TEST_CASE("the reproducer recipe makes the image the C++ list made", "[unit][image]")
{
	TempDir d;
	fs::path kernel = d.write("bzImage", "kernel");
	fs::path repro = d.write("repro", "ELF repro");
	auto got = host::load_image("reproducer", {{"kernel", ImageInput::host(kernel)},
						   {"repro", ImageInput::host(repro)}});
	std::vector<ImageEntry> want{
		{T::dir, "dev", {}, {}, {}, 0755},
		{T::chardev, "dev/console", {}, {}, {}, 0600, 5, 1},
		{T::dir, "proc", {}, {}, {}, 0755},
		{T::dir, "sys", {}, {}, {}, 0755},
		{T::dir, "tmp", {}, {}, {}, 0755},
		{T::dir, "boot", {}, {}, {}, 0755},
		{T::file, "boot/bzImage", kernel, {}, {}, 0644},
		{T::file, "init", repro, {}, {}, 0755},
	};
	same_entries(got, want);
}

TEST_CASE("the default recipes name existing images and list their inputs", "[unit][image]")
{
	CHECK(host::image_recipe_path("vmm") == host::images_dir() / "vmm.json");
	CHECK(host::image_recipe_path("./mine.json") == fs::path("./mine.json"));
	CHECK(host::image_recipe_path("x/y") == fs::path("x/y"));
	CHECK(fs::is_regular_file(host::images_dir() / "vmm.json"));
	CHECK(fs::is_regular_file(host::images_dir() / "shell.json"));
	CHECK(fs::is_regular_file(host::images_dir() / "shell" / "init"));
	CHECK(fs::is_regular_file(host::images_dir() / "README.md"));

	try {
		host::load_image("no-such-image", {});
		FAIL("an unknown image loaded");
	} catch (const host::SetupError &e) {
		CHECK_THAT(e.what(), ContainsSubstring("no-such-image.json: no such image recipe"));
		CHECK_THAT(e.what(), ContainsSubstring("shell"));
		CHECK_THAT(e.what(), ContainsSubstring("vmm"));
	}
}

TEST_CASE("LUO_RIG_HOME points the rig at another images folder", "[unit][image]")
{
	TempDir d;
	d.write("images/vmm.json",
		R"({"description": "d", "entries": [{"file": "init", "content": "x"}]})");
	const char *old = std::getenv("LUO_RIG_HOME");
	std::string saved = old ? old : "";
	setenv("LUO_RIG_HOME", d.path.c_str(), 1);
	auto e = host::load_image("vmm", {});
	if (old)
		setenv("LUO_RIG_HOME", saved.c_str(), 1);
	else
		unsetenv("LUO_RIG_HOME");
	REQUIRE(e.size() == 1);
	CHECK(e[0].content == "x");
}

TEST_CASE("inputs stand in for '@' sources; other sources are host paths", "[unit][image]")
{
	TempDir d;
	fs::path blob = d.write("blob", "bytes");
	d.write("sub/script", "#!/bin/sh\n");
	fs::path recipe = d.write("r.json", R"({
  "description": "inputs",
  "entries": [
    {"file": "a", "from": "@text"},
    {"file": "b", "from": "@blob", "mode": "0755"},
    {"file": "c", "from": "sub/script"},
    {"file": "d", "from": ")" + blob.string() + R"("},
    {"file": "e", "content": "literal"}
  ]
})");
	auto e = host::load_image(recipe.string(), {{"text", ImageInput::literal("made by the rig")},
						    {"blob", ImageInput::host(blob)},
						    {"unused", ImageInput::literal("")}});
	REQUIRE(e.size() == 5);
	CHECK((e[0].source.empty() && e[0].content == "made by the rig"));
	CHECK((e[1].source == blob && e[1].mode == 0755));
	CHECK(e[2].source == d.path / "sub/script");   // relative to the recipe's folder
	CHECK(e[3].source == blob);
	CHECK((e[4].source.empty() && e[4].content == "literal"));
}

TEST_CASE("modes are octal strings with a default per kind", "[unit][image]")
{
	TempDir d;
	fs::path recipe = d.write("r.json", R"({
  "entries": [
    {"dir": "d"},
    {"dir": "d2", "mode": "0700"},
    {"chardev": "d/null", "major": 1, "minor": 3},
    {"chardev": "d/tty", "major": 5, "minor": 0, "mode": "666"},
    {"file": "f", "content": ""},
    {"file": "g", "content": "", "mode": "4755"},
    {"symlink": "l", "to": "f"}
  ]
})");
	auto e = host::load_image(recipe.string(), {});
	REQUIRE(e.size() == 7);
	CHECK(e[0].mode == 0755);
	CHECK(e[1].mode == 0700);
	CHECK((e[2].type == T::chardev && e[2].mode == 0600 && e[2].major == 1 && e[2].minor == 3));
	CHECK(e[3].mode == 0666);
	CHECK(e[4].mode == 0644);
	CHECK(e[5].mode == 04755);
	CHECK((e[6].type == T::symlink && e[6].target == "f"));
}

TEST_CASE("a tree copies a host directory with its files' modes", "[unit][image]")
{
	TempDir d;
	fs::path src = d.path / "src";
	d.write("src/run.sh", "#!/bin/sh\n");
	d.write("src/data", "data");
	d.write("src/sub/deep/prog", "ELF");
	fs::permissions(src / "run.sh", fs::perms(0755));
	fs::permissions(src / "data", fs::perms(0600));
	fs::permissions(src / "sub/deep/prog", fs::perms(0750));
	fs::create_directory_symlink("sub", src / "link");
	fs::path recipe = d.write("r.json", R"({
  "entries": [
    {"dir": "opt"},
    {"tree": "opt/t", "from": "@tests"},
    {"tree": "again", "from": "src"}
  ]
})");
	auto e = host::load_image(recipe.string(), {{"tests", ImageInput::host(src)}});
	std::vector<std::string> paths;
	for (const auto &x : e)
		paths.push_back(x.path);
	// Sorted by name, each directory before what it holds.
	std::vector<std::string> tree = {"", "/data", "/link", "/run.sh", "/sub",
					 "/sub/deep", "/sub/deep/prog"};
	std::vector<std::string> want = {"opt"};
	for (const auto &t : tree)
		want.push_back("opt/t" + t);
	for (const auto &t : tree)
		want.push_back("again" + t);
	CHECK(paths == want);
	REQUIRE(e.size() == want.size());
	CHECK((e[1].type == T::dir && e[1].mode == 0755));
	CHECK((e[2].type == T::file && e[2].mode == 0600 && e[2].source == src / "data"));
	CHECK((e[3].type == T::symlink && e[3].target == "sub"));
	CHECK((e[4].type == T::file && e[4].mode == 0755));
	CHECK((e[5].type == T::dir && e[5].mode == 0755));
	CHECK((e[7].type == T::file && e[7].mode == 0750 && e[7].source == src / "sub/deep/prog"));

	// And it survives the cpio with those modes.
	host::write_initramfs(d.path / "t.cpio", e);
	auto u = unpack(d.path / "t.cpio");
	REQUIRE(u.size() == e.size());
	CHECK((u[2].perm == 0600 && u[2].data == "data"));
	CHECK((u[7].perm == 0750 && u[7].data == "ELF"));
}

TEST_CASE("a recipe's mistakes name the file, the place and the fix", "[unit][image]")
{
	TempDir d;
	ImageInputs in{{"kernel", ImageInput::host(d.write("bzImage", "k"))},
		       {"plan", ImageInput::literal("{}")}};
	auto has = [](const std::string &msg, std::initializer_list<const char *> parts) {
		INFO(msg);
		for (const char *p : parts)
			CHECK_THAT(msg, ContainsSubstring(p));
	};

	SECTION("unknown field") {
		has(error_of(d, R"({"dir": "dev", "mdoe": "0755"})"),
		    {":4:16: at /entries/0/mdoe (entry 0)", "unknown field 'mdoe' in a dir entry",
		     "it may have dir, mode"});
		has(error_of(d, R"({"symlink": "a", "to": "b", "mode": "0644"})"),
		    {"/entries/0/mode", "unknown field 'mode' in a symlink entry"});
	}
	SECTION("unknown top-level field") {
		fs::path f = d.write("top.json", R"({"entries": [], "image": "x"})");
		REQUIRE_THROWS_WITH(host::load_image(f.string(), {}),
				    ContainsSubstring("at /image: unknown field 'image'") &&
					    ContainsSubstring("\"description\" and \"entries\""));
	}
	SECTION("missing fields") {
		has(error_of(d, R"({"chardev": "console", "minor": 1})"),
		    {"at /entries/0 (entry 0)", "missing field 'major'", "\"major\": 5"});
		has(error_of(d, R"({"file": "init"})"),
		    {"at /entries/0 (entry 0)", "missing field 'from'", "'content'"});
		has(error_of(d, R"({"symlink": "sh"})"), {"missing field 'to'"});
		has(error_of(d, R"({"tree": "t"})"), {"missing field 'from'", "@selftests"});
		has(error_of(d, R"({"mode": "0755"})"),
		    {"/entries/0", "needs one of 'dir', 'chardev', 'file', 'symlink' or 'tree'"});
		fs::path f = d.write("none.json", R"({"description": "x"})");
		REQUIRE_THROWS_WITH(host::load_image(f.string(), {}),
				    ContainsSubstring("missing field 'entries'"));
	}
	SECTION("two kinds in one entry") {
		has(error_of(d, R"({"dir": "x"}, {"file": "y", "symlink": "y", "to": "z"})"),
		    {"at /entries/1/symlink (entry 1)", "both 'file' and 'symlink'",
		     "split it into two entries"});
	}
	SECTION("bad modes") {
		has(error_of(d, R"({"dir": "x", "mode": "0789"})"),
		    {"at /entries/0/mode", "bad mode '0789'", "\"0755\""});
		has(error_of(d, R"({"dir": "x", "mode": "75"})"), {"bad mode '75'"});
		has(error_of(d, R"({"dir": "x", "mode": 755})"),
		    {"at /entries/0/mode", "got number 755", "quote the mode"});
	}
	SECTION("an input the caller does not provide") {
		has(error_of(d, R"({"dir": "bin"}, {"file": "bin/busybox", "from": "@busybox"})", in),
		    {":4:49: at /entries/1/from (entry 1)", "no input '@busybox'",
		     "it provides @kernel, @plan", "or a host path"});
		has(error_of(d, R"({"tree": "t", "from": "@plan"})", in),
		    {"/entries/0/from", "'@plan' is text, not a directory"});
	}
	SECTION("a source that does not exist") {
		has(error_of(d, R"({"file": "init", "from": "shell/missing"})"),
		    {"at /entries/0/from", (d.path / "shell/missing").c_str(), "no such file",
		     "relative to"});
		has(error_of(d, R"({"file": "k", "from": "@k"})",
			     {{"k", ImageInput::host(d.path / "gone")}}),
		    {"/entries/0/from", "the input '@k' is", "not a file"});
		has(error_of(d, R"({"tree": "t", "from": "nodir"})"),
		    {"/entries/0/from", "no such directory"});
	}
	SECTION("paths inside the image") {
		has(error_of(d, R"({"dir": "/dev"})"),
		    {"at /entries/0/dir", "bad path '/dev'", "without a leading '/'"});
		has(error_of(d, R"({"dir": "a//b"})"), {"bad path 'a//b'"});
		has(error_of(d, R"({"dir": "../x"})"), {"bad path '../x'"});
		has(error_of(d, R"({"file": "boot/bzImage", "from": "@kernel"})", in),
		    {"at /entries/0/file", "the directory 'boot'", "add {\"dir\": \"boot\"} before"});
		has(error_of(d, R"({"dir": "tmp"}, {"file": "tmp", "content": ""})"),
		    {"at /entries/1/file", "'tmp' is already in the image (/entries/0)",
		     "keep one"});
	}
	SECTION("not JSON") {
		has(error_of(d, R"({"dir": "x"},)"), {"not valid JSON", "README.md"});
	}
}
