// SPDX-License-Identifier: GPL-2.0-only
#include "host/kernel/uapi_headers.hpp"

#include "host/kernel/built_source.hpp"

#include "host/kernel/hash.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"
#include "host/util/process.hpp"

namespace luo::host {

namespace fs = std::filesystem;

KernelSource source_of(const KernelOptions &kernel)
{
	return kernel.kernel_src ? local_source(*kernel.kernel_src) : debian_source();
}

// make headers_install of the kernel's source as built (its patches
// applied), once per source identity.
fs::path uapi_headers(const KernelOptions &kernel)
{
	return uapi_headers(built_source(kernel));
}

fs::path uapi_headers(const KernelSource &src)
{
	Hasher h;
	h.add(src.identity);
	fs::path out = cache_root() / "headers" / h.hex().substr(0, 16);
	if (fs::exists(out / "include" / "linux" / "liveupdate.h"))
		return out;
	fs::path obj = out.string() + ".obj";
	fs::remove_all(obj);
	fs::create_directories(obj);
	RunOptions o;
	o.log = obj / "make.log";
	StagingDir stage(out);
	if (run_command({"make", "-C", src.tree.string(), "O=" + obj.string(), "ARCH=x86_64",
			 "headers_install", "INSTALL_HDR_PATH=" + stage.path().string()},
			o) != 0)
		throw SetupError("make headers_install failed in " + src.tree.string() + "; see " +
				 (obj / "make.log").string());
	stage.publish();
	fs::remove_all(obj);
	if (!fs::exists(out / "include" / "linux" / "liveupdate.h"))
		throw SetupError(src.label + " has no include/uapi/linux/liveupdate.h: not a tree "
					     "with Live Update");
	return out;
}

} // namespace luo::host
