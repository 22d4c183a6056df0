// SPDX-License-Identifier: GPL-2.0-only
//
// The kernel pipeline: source -> patches -> config -> bzImage, cached by a
// content hash of everything that goes into it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace luo::host {

struct KernelOptions {
	std::optional<std::filesystem::path> kernel_src; // --kernel-src DIR
	std::optional<std::filesystem::path> kernel;     // --kernel IMAGE (prebuilt)
	std::vector<std::filesystem::path> patch_dirs;   // --patches DIR...
	std::vector<std::filesystem::path> mboxes;       // --mbox FILE...
	std::vector<std::string> series;                 // --series MSGID...
	bool default_patches = true;                     // kernel-config/patches/series
	std::vector<std::filesystem::path> fragments;    // empty: kernel-config/*.config
	std::string flavour = "default";                 // "debug": + kernel-config/debug/*.config
	bool rebuild = false;
	int jobs = 0;                                    // 0: cores + 1
};

struct KernelArtifact {
	std::filesystem::path image;   // bzImage
	std::string key;               // cache key (content hash)
	std::string source;            // human label of the source
	std::string release;           // `make kernelrelease`, when known
	std::string flavour = "default";
	std::vector<std::string> patches;
	bool from_cache = false;
	bool prebuilt = false;         // --kernel: nothing built, nothing cached
	double build_seconds = 0;
	std::filesystem::path log;
};

// Builds (or finds in the cache) the kernel the options describe.
KernelArtifact obtain_kernel(const KernelOptions &opts);

// What a bzImage says it is, from its boot protocol header: the whole
// version line the kernel prints at boot after "Linux version " ("7.3.4
// (user@host) (gcc ...) #1 SMP ..."), and its release ("7.3.4").  Empty if
// the file is not an x86 bzImage.
std::string image_version(const std::filesystem::path &image);
std::string image_release(const std::filesystem::path &image);

// The patches a run applies, in order: the rig's series (when wanted), each
// --mbox series, each --series series, then each --patches directory (local
// fixes go on top of what was posted).  Mailboxes are split and checked here,
// before anything is built.
std::vector<std::filesystem::path> patch_list(const KernelOptions &opts);

// The cache key of a build: the source, the compiler, and the name and content
// of every patch and config fragment, in order.
std::string kernel_key(const std::string &identity, const std::string &compiler,
		       const std::vector<std::filesystem::path> &patches,
		       const std::vector<std::filesystem::path> &fragments);

} // namespace luo::host
