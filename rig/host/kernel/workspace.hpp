// SPDX-License-Identifier: GPL-2.0-only
//
// A persistent build workspace per source tree and config.  The object
// directory (and, when patches are applied, a patched copy of the source)
// outlives each build, so make recompiles only what changed.  A workspace
// is trusted only if the build that last used it finished: anything else
// (killed, failed, half-written) is wiped and built from scratch.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace luo::host {

class Workspace {
public:
	// Takes the workspace's lock (waiting for another build of the same
	// tree to finish) and wipes it unless its last build completed.
	// `tree` is the source it builds, recorded for sweep_orphan_workspaces().
	Workspace(std::filesystem::path dir, const std::filesystem::path &tree);
	~Workspace();
	Workspace(const Workspace &) = delete;
	Workspace &operator=(const Workspace &) = delete;

	const std::filesystem::path &dir() const { return dir_; }
	std::filesystem::path obj() const { return dir_ / "obj"; }
	std::filesystem::path src() const { return dir_ / "src"; }
	// True when the last build in it finished: its objects can be reused.
	bool warm() const { return warm_; }

	// From here until completed() or failed(), a crash leaves the
	// workspace untrusted.
	void building();
	void completed();
	// make stopped at an error: kbuild deletes what it was writing, so the
	// objects left are sound and the next build may start from them.
	void failed();
	// Empties it for a build from scratch.
	void wipe();

private:
	std::filesystem::path dir_;
	int lock_fd_ = -1;
	bool warm_ = false;
};

// Removes the workspaces whose source tree is gone (a deleted scratch
// tree would otherwise hold gigabytes in the cache forever); one in use by
// another build is left alone.
void sweep_orphan_workspaces(const std::filesystem::path &parent);

// The files (relative to the tree) a unified diff creates, changes or
// deletes, as `patch -p1` sees them; /dev/null excluded.
std::vector<std::string> patched_paths(const std::string &patch_text);

// Brings `copy` to `pristine` plus `patches`.  The first time, a full copy;
// later, only what differs: files the developer changed in `pristine` come
// over with their times.  A file the previous or the current series touches
// gets back the time it had when make last ran if its text is the same as
// then (its objects are still right), and is marked new otherwise, so make
// rebuilds exactly what changed: a series grown by one patch costs that
// patch's files, not the whole series again.
void sync_patched_copy(const std::filesystem::path &pristine, bool pristine_copyable,
		       const std::filesystem::path &copy,
		       const std::vector<std::filesystem::path> &patches,
		       const std::filesystem::path &log);

// Make is about to compile `copy` as the last sync left it: that text and
// those times are what the next sync compares with.  A sync that no make
// followed (a patch that did not apply, a config refused) is forgotten, so
// its files never pass for compiled.
void sources_in_use(const std::filesystem::path &copy);

} // namespace luo::host
