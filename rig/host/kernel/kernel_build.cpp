// SPDX-License-Identifier: GPL-2.0-only
#include "host/kernel/kernel_build.hpp"

#include <fstream>
#include <unistd.h>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/kernel/hash.hpp"
#include "host/kernel/kernel_config.hpp"
#include "host/kernel/kernel_source.hpp"
#include "host/kernel/b4_series.hpp"
#include "host/kernel/mbox.hpp"
#include "host/kernel/patches.hpp"
#include "host/kernel/workspace.hpp"
#include "host/util/paths.hpp"
#include "host/util/process.hpp"
#include "host/util/progress.hpp"

namespace luo::host {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Bump when the way a kernel is built changes, so old cache entries retire.
constexpr const char *kRecipe = "luo-rig kernel recipe 1";

std::string first_line(const std::string &s)
{
	return s.substr(0, s.find('\n'));
}

// "  CC      kernel/foo.o" -> "CC kernel/foo.o"
std::string build_target(const std::string &line)
{
	static const std::regex step(R"(^\s+([A-Z][A-Z0-9_\[\] ]{1,10}?)\s+(\S+)\s*$)");
	std::smatch m;
	if (std::regex_match(line, m, step))
		return m[1].str() + " " + m[2].str();
	return {};
}

KernelArtifact from_entry(const fs::path &entry)
{
	json j = json::parse(read_file(entry / "kernel.json"));
	KernelArtifact a;
	a.image = entry / "bzImage";
	a.key = j.value("key", "");
	a.source = j.value("source", "");
	a.release = j.value("release", "");
	a.flavour = j.value("flavour", "default");
	a.patches = j.value("patches", std::vector<std::string>{});
	a.build_seconds = j.value("build_seconds", 0.0);
	a.log = entry / "build.log";
	a.from_cache = true;
	return a;
}

void make(const fs::path &tree, const fs::path &obj, std::vector<std::string> targets,
	  const fs::path &log, Progress *prog, const std::string &what)
{
	std::vector<std::string> argv{"make", "-C", tree.string(), "O=" + obj.string(),
				      "ARCH=x86_64"};
	argv.insert(argv.end(), targets.begin(), targets.end());
	RunOptions o;
	o.log = log;
	if (prog)
		o.on_line = [&](const std::string &l) {
			if (auto t = build_target(l); !t.empty())
				prog->update(t);
		};
	if (run_command(argv, o) != 0)
		throw SetupError(what + " failed in " + tree.string() + "; last lines of the log:\n" +
				 tail_of(log) + "full log: " + log.string());
}


struct BuildInputs {
	const KernelSource &src;
	const std::vector<fs::path> &patches;
	const std::vector<fs::path> &fragments;
	int jobs;
	fs::path log;
	Progress *prog;
};

std::string configure_and_make(Workspace &ws, const fs::path &tree, const BuildInputs &in);

// One build in the workspace; returns `make kernelrelease`.
std::string build_in(Workspace &ws, const BuildInputs &in)
{
	bool warm = ws.warm();
	ws.building();
	Progress &prog = *in.prog;
	fs::path tree = in.src.tree;
	if (!in.patches.empty()) {
		prog.phase(std::string(warm ? "kernel: sync source" : "kernel: copy source") +
			   ", apply " + std::to_string(in.patches.size()) + " patches");
		try {
			sync_patched_copy(in.src.tree, in.src.pristine_copyable, ws.src(),
					  in.patches, in.log);
		} catch (const PatchError &) {
			// Nothing was compiled: the objects stay good for the next
			// build, which restores the files the series touched.
			ws.failed();
			throw;
		}
		tree = ws.src();
	}
	try {
		return configure_and_make(ws, tree, in);
	} catch (const SetupError &) {
		ws.failed();
		throw;
	}
}

std::string configure_and_make(Workspace &ws, const fs::path &tree, const BuildInputs &in)
{
	bool warm = ws.warm();
	Progress &prog = *in.prog;
	fs::path obj = ws.obj();
	fs::create_directories(obj);
	prog.phase("kernel: configure");
	std::vector<ConfigRequest> wanted;
	for (const auto &f : in.fragments) {
		auto reqs = parse_fragment(f, read_file(f));
		wanted.insert(wanted.end(), reqs.begin(), reqs.end());
	}
	// From the fragments every time, warm or not: a .config kept from the
	// last build would carry what that tree's Kconfig did to it (a tree
	// without LIVEUPDATE drops the option, and the next tree's build would
	// be refused).  The same .config again costs nothing: kconfig marks
	// only the options whose value changed, and make rebuilds only what
	// depends on them.
	make(tree, obj, {"tinyconfig"}, in.log, nullptr, "make tinyconfig");
	std::vector<std::string> merge{"sh", (tree / "scripts/kconfig/merge_config.sh").string(),
				       "-m", "-O", obj.string(), (obj / ".config").string()};
	for (const auto &f : in.fragments)
		merge.push_back(f.string());
	RunOptions mo;
	mo.cwd = tree;
	mo.log = in.log;
	if (run_command(merge, mo) != 0)
		throw SetupError("merge_config.sh failed; see " + in.log.string());
	make(tree, obj, {"olddefconfig"}, in.log, nullptr, "make olddefconfig");
	auto missing = verify_config(wanted, read_file(obj / ".config"));
	if (!missing.empty())
		throw ConfigError(describe_mismatches(missing, in.src.label));
	sources_in_use(ws.src()); // nothing to do for a tree built in place

	int jobs = in.jobs ? in.jobs : static_cast<int>(std::thread::hardware_concurrency()) + 1;
	prog.phase("kernel: build -j" + std::to_string(jobs) + (warm ? " (incremental)" : ""));
	make(tree, obj, {"-j" + std::to_string(jobs), "bzImage"}, in.log, &prog, "kernel build");
	std::string release = first_line(
		capture({"make", "-s", "-C", tree.string(), "O=" + obj.string(), "kernelrelease"}));
	ws.completed();
	return release;
}

} // namespace

// The x86 boot protocol keeps a pointer to the version string at 0x20e of
// the setup header: "7.3.4 (user@host) #1 ...".  Empty if it is not there.
std::string image_version(const fs::path &image)
{
	std::ifstream in(image, std::ios::binary);
	unsigned char ptr[2];
	char magic[4];
	in.seekg(0x202);
	if (!in.read(magic, 4) || std::string(magic, 4) != "HdrS")
		return {};
	in.seekg(0x20e);
	if (!in.read(reinterpret_cast<char *>(ptr), 2))
		return {};
	in.seekg(0x200 + (ptr[0] | ptr[1] << 8));
	std::string version;
	std::getline(in, version, '\0');
	return version;
}

std::string image_release(const fs::path &image)
{
	std::string version = image_version(image);
	return version.substr(0, version.find(' '));
}

std::string kernel_key(const std::string &identity, const std::string &compiler,
		       const std::vector<fs::path> &patches, const std::vector<fs::path> &fragments)
{
	Hasher h;
	h.add(kRecipe).add(identity).add(compiler);
	for (const auto &p : patches)
		h.add_file(p);
	for (const auto &f : fragments)
		h.add_file(f);
	return h.hex().substr(0, 16);
}

std::vector<fs::path> patch_list(const KernelOptions &opts)
{
	std::vector<fs::path> out;
	if (opts.default_patches && !opts.kernel_src) {
		auto mine = source_root() / "kernel-config" / "patches";
		if (fs::exists(mine / "series"))
			out = read_series(mine);
	}
	auto add_mailbox = [&](const fs::path &mbox) {
		auto more = split_mailbox(mbox, cache_root() / "mbox");
		out.insert(out.end(), more.begin(), more.end());
	};
	for (const auto &m : opts.mboxes)
		add_mailbox(m);
	for (const auto &id : opts.series)
		add_mailbox(fetch_series(normalise_msgid(id), cache_root() / "series"));
	for (const auto &d : opts.patch_dirs) {
		auto more = read_series(d);
		out.insert(out.end(), more.begin(), more.end());
	}
	return out;
}

KernelArtifact obtain_kernel(const KernelOptions &opts)
{
	if (opts.kernel) {
		if (opts.flavour != "default")
			throw SetupError("--kernel-flavour " + opts.flavour + " with --kernel " +
					 opts.kernel->string() + ": a prebuilt image has the config it "
					 "was built with; drop one of the two");
		// A prebuilt image has the patches it was built with: a series
		// asked for on top would be silently missing from the verdict.
		std::string asked;
		for (const auto &m : opts.mboxes)
			asked += " --mbox " + m.string();
		for (const auto &s : opts.series)
			asked += " --series " + s;
		for (const auto &d : opts.patch_dirs)
			asked += " --patches " + d.string();
		if (!asked.empty())
			throw SetupError("--kernel " + opts.kernel->string() + " with" + asked +
					 ": a prebuilt image cannot take patches; build it with "
					 "them (--kernel-src or the default source) or drop them");
		if (!fs::is_regular_file(*opts.kernel))
			throw SetupError(opts.kernel->string() +
					 ": no such kernel image; pass a bzImage built with "
					 "LIVEUPDATE (see kernel-config/*.config)");
		KernelArtifact a;
		a.image = fs::absolute(*opts.kernel);
		a.key = sha256_file(a.image).substr(0, 16);
		a.source = "prebuilt " + a.image.string();
		a.prebuilt = true;
		a.release = image_release(a.image);
		if (a.release.empty())
			throw SetupError(opts.kernel->string() +
					 ": not an x86 bzImage (no boot protocol header); pass "
					 "arch/x86/boot/bzImage of your build");
		return a;
	}

	KernelSource src = opts.kernel_src ? local_source(*opts.kernel_src) : debian_source();
	auto patches = patch_list(opts);
	auto fragments = opts.fragments.empty() ? default_fragments() : opts.fragments;
	auto extra = flavour_fragments(opts.flavour);
	fragments.insert(fragments.end(), extra.begin(), extra.end());
	std::string compiler = first_line(capture({"gcc", "--version"}));

	std::string key = kernel_key(src.identity, compiler, patches, fragments);

	fs::path root = cache_root();
	fs::path entry = root / "kernels" / key;
	auto cached = [&] {
		return !opts.rebuild && fs::exists(entry / "kernel.json") &&
		       fs::exists(entry / "bzImage");
	};
	if (cached())
		return from_entry(entry);

	// The workspace is keyed by where the source lives and how it is
	// configured, not by its content: the next build of the same tree,
	// one line changed, finds its objects there.
	Hasher wh;
	wh.add(kRecipe).add(fs::weakly_canonical(src.tree).string()).add(compiler);
	wh.add(patches.empty() ? "in place" : "patched copy");
	for (const auto &f : fragments)
		wh.add_file(f);
	std::string wkey = wh.hex().substr(0, 16);

	Progress prog("kernel " + key.substr(0, 8));
	sweep_orphan_workspaces(root / "objdirs");
	Workspace ws(root / "objdirs" / wkey, src.tree);
	// Another luo-rig (a parallel CI job, a build started ahead) may have
	// built this very kernel while the lock was held: take its result.
	// Only now is the log ours to clear.
	if (cached())
		return from_entry(entry);
	fs::path log = root / "logs" / ("kernel-" + key + ".log");
	fs::create_directories(log.parent_path());
	fs::remove(log);
	if (opts.rebuild)
		ws.wipe(); // --rebuild means from scratch, objects included
	BuildInputs in{src, patches, fragments, opts.jobs, log, &prog};
	std::string release;
	bool incremental = ws.warm();
	try {
		release = build_in(ws, in);
	} catch (const PatchError &) {
		throw; // the same series would not apply from scratch either
	} catch (const ConfigError &) {
		throw; // nor would the same tree take the fragments
	} catch (const SetupError &e) {
		if (!incremental)
			throw;
		// A stale object directory must never pass for the developer's
		// code: the failure counts only once it repeats from scratch.
		prog.phase("kernel: incremental build failed, building from scratch");
		std::ofstream(log, std::ios::app)
			<< "\nluo-rig: incremental build failed; wiping " << ws.dir().string()
			<< " and building from scratch\n";
		ws.wipe();
		incremental = false;
		release = build_in(ws, in);
	}

	// Published in one rename: an interrupted build leaves no entry.
	StagingDir stage(entry);
	fs::copy_file(ws.obj() / "arch/x86/boot/bzImage", stage.path() / "bzImage");
	fs::copy_file(ws.obj() / ".config", stage.path() / "config");
	fs::copy_file(log, stage.path() / "build.log");
	std::vector<std::string> names;
	for (const auto &p : patches)
		names.push_back(p.filename().string());
	json info{{"key", key},
		  {"source", src.label},
		  {"identity", src.identity},
		  {"compiler", compiler},
		  {"release", release},
		  {"flavour", opts.flavour},
		  {"patches", names},
		  {"incremental", incremental},
		  {"workspace", ws.dir().string()},
		  {"build_seconds", prog.elapsed()}};
	write_file_atomic(stage.path() / "kernel.json", info.dump(2));
	prog.finish(std::string(incremental ? "rebuilt " : "built ") + release + " in " +
		    std::to_string((int)prog.elapsed()) + " s" +
		    (incremental ? " (incremental, " + ws.dir().string() + ")" : ""));
	stage.publish();
	KernelArtifact built = from_entry(entry);
	built.from_cache = false; // reports say "cached" only when nothing was compiled
	return built;
}

} // namespace luo::host
