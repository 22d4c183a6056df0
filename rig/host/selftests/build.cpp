// SPDX-License-Identifier: GPL-2.0-only
#include "host/selftests/build.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "host/kernel/hash.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/process.hpp"

namespace luo::host {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Bumped when the way the programs are compiled changes.
constexpr const char *kRecipe = "gcc -static -O2 v1; vfio: make EXTRA_CFLAGS=-static v1";

void hash_tree(Hasher &h, const fs::path &root)
{
	if (!fs::exists(root))
		return;
	std::vector<fs::path> files;
	for (const auto &e : fs::recursive_directory_iterator(root))
		if (e.is_regular_file())
			files.push_back(e.path());
	std::sort(files.begin(), files.end());
	for (const auto &f : files) {
		h.add(fs::relative(f, root).string());
		h.add_file(f);
	}
}

std::string cache_key(const std::vector<SelftestInfo> &catalog, const fs::path &tree,
		      const fs::path &headers)
{
	Hasher h;
	h.add(kRecipe);
	fs::path top = tree / kSelftestSubdir / "..";
	hash_tree(h, tree / kSelftestSubdir);
	// The shared kselftest headers the programs include from one level up.
	for (const char *f : {"kselftest.h", "kselftest_harness.h"})
		if (fs::exists(top / f))
			h.add(f).add_file(top / f);
	// What the VFIO directory's Makefile reads besides its own files.
	if (std::any_of(catalog.begin(), catalog.end(), [](const auto &t) { return t.device; })) {
		h.add("vfio");
		hash_tree(h, tree / kVfioSelftestSubdir);
		hash_tree(h, tree / "tools" / "include");
		for (const char *f : {"tools/testing/selftests/lib.mk", "scripts/subarch.include"})
			if (fs::exists(tree / f))
				h.add(f).add_file(tree / f);
	}
	hash_tree(h, headers / "include");
	h.add(capture({"gcc", "--version"}));
	return h.hex().substr(0, 16);
}

std::string last_error_line(const fs::path &log)
{
	std::string text = fs::exists(log) ? read_file(log) : "";
	auto at = text.find("error:");
	if (at == std::string::npos)
		return "";
	auto bol = text.rfind('\n', at);
	auto eol = text.find('\n', at);
	return text.substr(bol == std::string::npos ? 0 : bol + 1,
			   eol == std::string::npos ? std::string::npos : eol - bol - 1);
}

// A VFIO selftest through its directory's own Makefile, as the series'
// authors build it: libvfio with its drivers, libliveupdate, -luuid.  Only
// the output directory, the headers and -static are the rig's.
BuiltSelftest make_vfio(const SelftestInfo &t, const fs::path &tree, const fs::path &headers,
			const fs::path &out, const fs::path &final_dir)
{
	BuiltSelftest b{t};
	fs::path objs = out / "obj" / "vfio";
	fs::create_directories(objs);
	RunOptions o;
	o.log = out / "logs" / (t.name + ".log");
	std::vector<std::string> argv{"make", "-C", (tree / t.subdir).string(),
				      "OUTPUT=" + objs.string(),
				      "KHDR_INCLUDES=-isystem " + (headers / "include").string(),
				      "EXTRA_CFLAGS=-static", (objs / t.name).string()};
	if (run_command(argv, o) == 0 && fs::exists(objs / t.name)) {
		fs::copy_file(objs / t.name, out / "bin" / t.name, fs::copy_options::overwrite_existing);
		b.built = true;
		return b;
	}
	std::string err = last_error_line(o.log);
	b.skip_reason = "does not build (make -C " + t.subdir + " with EXTRA_CFLAGS=-static " +
			"against the tree's uapi headers; static libuuid comes from uuid-dev)" +
			(err.empty() ? std::string() : ": " + err) +
			"; log: " + (final_dir / "logs" / (t.name + ".log")).string();
	return b;
}

// Builds into `out` (a staging directory) what will be published as `final_dir`.
BuiltSelftest compile(const SelftestInfo &t, const fs::path &tree, const fs::path &headers,
		      const fs::path &out, const fs::path &final_dir)
{
	BuiltSelftest b{t};
	fs::path dir = tree / t.subdir;
	if (!t.present) {
		b.skip_reason = "the tree has no " + t.subdir + "/" + t.name + ".c";
		return b;
	}
	if (t.subdir == kVfioSelftestSubdir)
		return make_vfio(t, tree, headers, out, final_dir);
	std::vector<std::string> argv{"gcc", "-static", "-O2", "-Wall", "-Wno-unused-function",
				      "-D_GNU_SOURCE=", "-isystem", (headers / "include").string()};
	if (fs::exists(dir / "lib" / "include"))
		argv.insert(argv.end(), {"-I", (dir / "lib" / "include").string()});
	argv.push_back((dir / (t.name + ".c")).string());
	// The programs share the helpers of lib/ (libliveupdate.mk's LIBLIVEUPDATE_C).
	if (fs::exists(dir / "lib"))
		for (const auto &e : fs::directory_iterator(dir / "lib"))
			if (e.path().extension() == ".c")
				argv.push_back(e.path().string());
	argv.insert(argv.end(), {"-o", (out / "bin" / t.name).string()});
	RunOptions o;
	o.log = out / "logs" / (t.name + ".log");
	if (run_command(argv, o) == 0) {
		b.built = true;
		return b;
	}
	std::string err = last_error_line(o.log);
	b.skip_reason = "does not build (gcc -static against the tree's uapi headers)" +
			(err.empty() ? std::string() : ": " + err) +
			"; log: " + (final_dir / "logs" / (t.name + ".log")).string();
	return b;
}

json to_json(const BuiltSelftest &b)
{
	return {{"name", b.info.name},	 {"subdir", b.info.subdir},
		{"two_stage", b.info.two_stage}, {"present", b.info.present},
		{"device", b.info.device},	 {"built", b.built},
		{"skip_reason", b.skip_reason}};
}

BuiltSelftest from_json(const json &j)
{
	BuiltSelftest b;
	b.info.name = j.at("name").get<std::string>();
	b.info.subdir = j.at("subdir").get<std::string>();
	b.info.device = j.at("device").get<bool>();
	b.info.two_stage = j.at("two_stage").get<bool>();
	b.info.present = j.at("present").get<bool>();
	b.built = j.at("built").get<bool>();
	b.skip_reason = j.at("skip_reason").get<std::string>();
	return b;
}

} // namespace

SelftestBuild all_skipped(const fs::path &tree, const std::string &reason)
{
	SelftestBuild out;
	out.tree = tree;
	for (auto &t : selftest_catalog(tree))
		out.tests.push_back({t, false, reason});
	return out;
}

SelftestBuild build_selftests(const fs::path &tree, const fs::path &headers,
			      const fs::path &cache_dir)
{
	SelftestBuild out;
	out.tree = tree;
	auto catalog = selftest_catalog(tree);
	out.key = cache_key(catalog, tree, headers);
	fs::path final_dir = cache_dir / out.key;
	out.bin_dir = final_dir / "bin";
	if (fs::exists(final_dir / "build.json")) {
		json doc = json::parse(read_file(final_dir / "build.json"));
		for (const auto &j : doc.at("tests"))
			out.tests.push_back(from_json(j));
		out.from_cache = true;
		return out;
	}
	fs::create_directories(cache_dir);
	StagingDir stage(final_dir);
	fs::create_directories(stage.path() / "bin");
	fs::create_directories(stage.path() / "logs");
	json tests = json::array();
	for (const auto &t : catalog) {
		auto b = compile(t, tree, headers, stage.path(), final_dir);
		tests.push_back(to_json(b));
		out.tests.push_back(std::move(b));
	}
	// The objects of make-built programs are only a means.
	fs::remove_all(stage.path() / "obj");
	write_file_atomic(stage.path() / "build.json", json{{"tests", tests}}.dump(1));
	stage.publish();
	return out;
}

} // namespace luo::host
