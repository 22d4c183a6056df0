// SPDX-License-Identifier: GPL-2.0-only
#include "host/image/initramfs.hpp"

#include "host/util/atomic_file.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace luo::host {

namespace fs = std::filesystem;

namespace {

struct ArchiveDeleter {
	void operator()(archive *a) const { archive_write_free(a); }
};
struct ReaderDeleter {
	void operator()(archive *a) const { archive_read_free(a); }
};
struct EntryDeleter {
	void operator()(archive_entry *e) const { archive_entry_free(e); }
};

void check(archive *a, int rc, const std::string &what)
{
	if (rc < ARCHIVE_OK)
		throw std::runtime_error(what + ": " + archive_error_string(a));
}

} // namespace

void write_initramfs(const fs::path &out, const std::vector<ImageEntry> &entries)
{
	fs::path tmp = out.parent_path() / ("." + out.filename().string() + ".tmp");
	std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
	check(a.get(), archive_write_set_format_cpio_newc(a.get()), "cpio format");
	check(a.get(), archive_write_open_filename(a.get(), tmp.c_str()), tmp.string());
	for (const auto &e : entries) {
		std::unique_ptr<archive_entry, EntryDeleter> ae(archive_entry_new());
		archive_entry_set_pathname(ae.get(), e.path.c_str());
		archive_entry_set_uid(ae.get(), 0);
		archive_entry_set_gid(ae.get(), 0);
		archive_entry_set_mtime(ae.get(), 0, 0);
		archive_entry_set_size(ae.get(), 0);
		std::string data;
		switch (e.type) {
		case ImageEntry::Type::dir:
			archive_entry_set_filetype(ae.get(), AE_IFDIR);
			archive_entry_set_perm(ae.get(), e.mode ? e.mode : 0755);
			break;
		case ImageEntry::Type::chardev:
			archive_entry_set_filetype(ae.get(), AE_IFCHR);
			archive_entry_set_perm(ae.get(), e.mode);
			archive_entry_set_rdev(ae.get(), makedev(e.major, e.minor));
			break;
		case ImageEntry::Type::symlink:
			archive_entry_set_filetype(ae.get(), AE_IFLNK);
			archive_entry_set_perm(ae.get(), 0777);
			archive_entry_set_symlink(ae.get(), e.target.c_str());
			break;
		case ImageEntry::Type::file:
			data = e.source.empty() ? e.content : read_file(e.source);
			archive_entry_set_filetype(ae.get(), AE_IFREG);
			archive_entry_set_perm(ae.get(), e.mode);
			archive_entry_set_size(ae.get(), data.size());
			break;
		}
		check(a.get(), archive_write_header(a.get(), ae.get()), e.path);
		if (!data.empty() &&
		    archive_write_data(a.get(), data.data(), data.size()) != (la_ssize_t)data.size())
			throw std::runtime_error(e.path + ": " + archive_error_string(a.get()));
	}
	check(a.get(), archive_write_close(a.get()), tmp.string());
	a.reset();
	fs::rename(tmp, out);
}

std::vector<std::string> list_initramfs(const fs::path &image)
{
	std::unique_ptr<archive, ReaderDeleter> a(archive_read_new());
	archive_read_support_format_cpio(a.get());
	archive_read_support_filter_all(a.get());
	check(a.get(), archive_read_open_filename(a.get(), image.c_str(), 1 << 16), image.string());
	std::vector<std::string> out;
	archive_entry *e;
	while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK)
		out.push_back(archive_entry_pathname(e));
	return out;
}

} // namespace luo::host
