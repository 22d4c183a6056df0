// SPDX-License-Identifier: GPL-2.0-only
//
// A scratch kernel tree with selftests of both kinds the rig builds: the
// liveupdate directory's (compiled by the rig) and, on demand, the VFIO
// directory's Live Update programs (built with that directory's Makefile).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "host/selftests/catalog.hpp"

namespace luo::test {

namespace fs = std::filesystem;
using host::kSelftestSubdir;
using host::kVfioSelftestSubdir;

struct FakeTree {
	fs::path root = fs::temp_directory_path() / ("luo-rig-selftests-" + std::to_string(getpid()));
	fs::path dir = root / "tree" / kSelftestSubdir;
	fs::path headers = root / "headers";
	fs::path cache = root / "cache";

	FakeTree()
	{
		fs::remove_all(root);
		fs::create_directories(dir / "lib" / "include");
		fs::create_directories(headers / "include" / "linux");
		write(headers / "include" / "linux" / "liveupdate.h", "#define LU 1\n");
		write(dir / "Makefile", "TEST_GEN_PROGS += good\n"
					"TEST_GEN_PROGS_EXTENDED += staged\n"
					"TEST_GEN_PROGS_EXTENDED += broken\n"
					"TEST_GEN_PROGS_EXTENDED += listed_only\n");
		write(dir / "lib" / "include" / "helpers.h", "int luo_test(void);\n");
		write(dir / "lib" / "helpers.c", "int luo_test(void) { return 0; }\n");
		write(dir / "good.c", "#include <linux/liveupdate.h>\nint main(void) { return LU - 1; }\n");
		write(dir / "staged.c", "#include <helpers.h>\n#define TEST_SESSION_NAME \"s\"\n"
					"int main(void) { return luo_test(); }\n");
		write(dir / "broken.c", "int main(void) { return undeclared_thing; }\n");
	}
	~FakeTree() { fs::remove_all(root); }

	// tools/testing/selftests/vfio as a Live Update series leaves it, as far
	// as the rig can tell: a Makefile that takes OUTPUT, KHDR_INCLUDES and
	// EXTRA_CFLAGS from the command line, with one program per target.
	fs::path vfio() const { return root / "tree" / kVfioSelftestSubdir; }
	void add_vfio() const
	{
		fs::create_directories(vfio());
		write(vfio() / "Makefile",
		      "CFLAGS = $(KHDR_INCLUDES) $(EXTRA_CFLAGS)\n"
		      "TEST_GEN_PROGS += vfio_dma_mapping_test\n"
		      "TEST_GEN_PROGS += vfio_pci_liveupdate_uapi_test\n"
		      "TEST_GEN_PROGS_EXTENDED += vfio_pci_liveupdate_kexec_test\n"
		      "TEST_GEN_PROGS_EXTENDED += vfio_pci_liveupdate_broken_test\n"
		      "$(OUTPUT)/%: %.c\n\t$(CC) $(CFLAGS) $< -o $@\n");
		write(headers / "include" / "linux" / "vfio.h", "#define VFIO_MAGIC 3\n");
		write(vfio() / "vfio_dma_mapping_test.c", "int main(void) { return 0; }\n");
		write(vfio() / "vfio_pci_liveupdate_uapi_test.c",
		      "#include <linux/vfio.h>\nint main(void) { return VFIO_MAGIC - 3; }\n");
		write(vfio() / "vfio_pci_liveupdate_kexec_test.c",
		      "int luo_test(void) { return 0; }\nint main(void) { return luo_test(); }\n");
		write(vfio() / "vfio_pci_liveupdate_broken_test.c", "int main(void) { return nope; }\n");
	}

	static void write(const fs::path &p, const std::string &text) { std::ofstream(p) << text; }
	fs::path tree() const { return root / "tree"; }
};

} // namespace luo::test
