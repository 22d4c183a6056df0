// SPDX-License-Identifier: GPL-2.0-only
#include "host/kernel/kernel_source.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/kernel/hash.hpp"
#include "host/util/paths.hpp"
#include "host/util/process.hpp"

namespace luo::host {

namespace fs = std::filesystem;

namespace {

bool version_newer(const std::string &a, const std::string &b)
{
	return run_command({"dpkg", "--compare-versions", a, "gt", b}) == 0;
}

// apt options that keep every list, cache and source of ours in our own dir.
std::vector<std::string> private_apt(const fs::path &state)
{
	return {"-o", "Dir::Etc::SourceList=" + (state / "sources.list").string(),
		"-o", "Dir::Etc::SourceParts=" + (state / "sources.list.d").string(),
		"-o", "Dir::State::Lists=" + (state / "lists").string(),
		"-o", "Dir::State::Status=" + (state / "status").string(),
		"-o", "Dir::Cache=" + (state / "cache").string(),
		"-o", "Debug::NoLocking=1"};
}

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string> &b)
{
	a.insert(a.end(), b.begin(), b.end());
	return a;
}

} // namespace

std::string debian_mirror()
{
	if (const char *m = std::getenv("LUO_RIG_DEBIAN_MIRROR"); m && *m)
		return m;
	std::vector<fs::path> files;
	if (fs::exists("/etc/apt/sources.list"))
		files.push_back("/etc/apt/sources.list");
	if (fs::is_directory("/etc/apt/sources.list.d"))
		for (const auto &e : fs::directory_iterator("/etc/apt/sources.list.d"))
			if (e.path().extension() == ".sources" || e.path().extension() == ".list")
				files.push_back(e.path());
	std::sort(files.begin(), files.end());
	const std::regex one_line(R"(^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+)");
	const std::regex deb822(R"(^URIs:\s*(\S+))");
	for (const auto &f : files) {
		std::istringstream in(read_file(f));
		std::string l;
		std::smatch m;
		while (std::getline(in, l)) {
			if (std::regex_search(l, m, one_line) || std::regex_search(l, m, deb822)) {
				std::string uri = m[1];
				if (uri.find("/debian") != std::string::npos &&
				    uri.find("security") == std::string::npos)
					return uri;
			}
		}
	}
	throw SetupError("no Debian archive found in /etc/apt/sources.list{,.d}: set "
			 "LUO_RIG_DEBIAN_MIRROR to a Debian mirror URI, or use --kernel-src DIR");
}

std::string choose_version(const std::vector<std::string> &offered)
{
	std::string best;
	for (const auto &v : offered) {
		if (v == kPreferredVersion)
			return v;
		if (v.rfind("7.3.", 0) != 0)
			continue;
		if (best.empty() || version_newer(v, best))
			best = v;
	}
	return best;
}

KernelSource debian_source()
{
	fs::path root = cache_root();
	fs::path debs = root / "debs";
	fs::create_directories(debs);

	// A cached package of the preferred version needs no network at all.
	std::string version = kPreferredVersion;
	auto deb_of = [&](const std::string &v) {
		std::string file = std::string(kDebianPackage) + "_" + v + "_all.deb";
		return debs / std::regex_replace(file, std::regex(":"), "%3a");
	};
	if (!fs::exists(deb_of(version))) {
		fs::path state = root / "apt";
		fs::create_directories(state / "lists" / "partial");
		fs::create_directories(state / "cache" / "archives" / "partial");
		fs::create_directories(state / "sources.list.d");
		if (!fs::exists(state / "status"))
			write_file_atomic(state / "status", "");
		write_file_atomic(state / "sources.list",
				  "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] " +
					  debian_mirror() + " " + kDebianSuite + " main\n");
		auto apt = private_apt(state);
		capture(cat(cat({"apt-get"}, apt), {"-q", "update"}));
		std::string madison = capture(cat(cat({"apt-cache"}, apt), {"madison", kDebianPackage}));
		std::vector<std::string> offered;
		std::istringstream in(madison);
		std::string l;
		while (std::getline(in, l)) {
			auto a = l.find('|'), b = l.find('|', a + 1);
			if (a == std::string::npos || b == std::string::npos)
				continue;
			std::string v = l.substr(a + 1, b - a - 1);
			v.erase(0, v.find_first_not_of(' '));
			v.erase(v.find_last_not_of(' ') + 1);
			offered.push_back(v);
		}
		version = choose_version(offered);
		if (version.empty())
			throw SetupError(std::string("Debian's ") + kDebianSuite + " offers no " +
					 kDebianPackage + " 7.3.x (found: " +
					 (offered.empty() ? "none" : offered.front()) +
					 "); use --kernel-src DIR with a tree that has Live Update");
		if (!fs::exists(deb_of(version))) {
			fs::path tmp = debs / ".download";
			fs::remove_all(tmp);
			fs::create_directories(tmp);
			RunOptions o;
			o.cwd = tmp;
			capture(cat(cat({"apt-get"}, apt),
				    {"-q", "download", std::string(kDebianPackage) + "=" + version}),
				o);
			for (const auto &e : fs::directory_iterator(tmp))
				fs::rename(e.path(), deb_of(version));
			fs::remove_all(tmp);
		}
	}

	fs::path deb = deb_of(version);
	fs::path unpacked = root / "src" / (std::string(kDebianPackage) + "_" + version);
	fs::path tree = unpacked / kDebianPackage;
	if (!fs::exists(tree / "Makefile")) {
		StagingDir stage(unpacked);
		capture({"sh", "-c",
			 "dpkg-deb --fsys-tarfile \"$0\" | tar -xO ./usr/src/linux-source-7.3.tar.xz "
			 "| tar -xJ -C \"$1\"",
			 deb.string(), stage.path().string()});
		stage.publish();
	}
	KernelSource src;
	src.tree = tree;
	src.identity = "debian:" + std::string(kDebianPackage) + "=" + version;
	src.label = std::string(kDebianPackage) + " " + version;
	src.pristine_copyable = true;
	return src;
}

KernelSource local_source(const fs::path &dir)
{
	fs::path tree = fs::absolute(dir);
	if (!fs::exists(tree / "Makefile") || !fs::exists(tree / "Kconfig"))
		throw SetupError(dir.string() + ": not a kernel source tree (no Makefile and "
						"Kconfig at its top); pass the top of a Linux tree");
	KernelSource src;
	src.tree = tree;
	Hasher h;
	if (fs::exists(tree / ".git")) {
		RunOptions o;
		o.cwd = tree;
		std::string head = capture({"git", "rev-parse", "HEAD"}, o);
		std::string diff = capture({"git", "diff", "HEAD"}, o);
		h.add(head).add(diff);
		// A new file the build picks up is not in `git diff` until added.
		std::string untracked = capture({"git", "ls-files", "--others", "--exclude-standard"}, o);
		std::istringstream names(untracked);
		for (std::string name; std::getline(names, name);) {
			if (name.empty())
				continue;
			h.add(name);
			if (fs::is_regular_file(tree / name))
				h.add_file(tree / name);
			diff += name;
		}
		src.label = tree.string() + " @ " + head.substr(0, 12) +
			    (diff.empty() ? "" : " + uncommitted changes");
	} else {
		// Without git, the size and mtime of every file stand for its content.
		std::vector<std::string> entries;
		for (auto it = fs::recursive_directory_iterator(tree); it != fs::end(it); ++it) {
			if (!it->is_regular_file())
				continue;
			auto t = it->last_write_time().time_since_epoch().count();
			entries.push_back(fs::relative(it->path(), tree).string() + " " +
					  std::to_string(it->file_size()) + " " + std::to_string(t));
		}
		std::sort(entries.begin(), entries.end());
		for (const auto &e : entries)
			h.add(e);
		src.label = tree.string();
	}
	src.identity = "tree:" + tree.string() + ":" + h.hex();
	return src;
}

} // namespace luo::host
