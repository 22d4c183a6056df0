// SPDX-License-Identifier: GPL-2.0-only
#include "host/kernel/fault_knobs.hpp"
#include "host/util/strings.hpp"

#include <algorithm>
#include <cstring>
#include <set>

#include <archive.h>

#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"

namespace luo::host {

namespace {

constexpr const char *kCatalogue = "luo_fault_knobs=";

std::uint32_t le32(const std::string &b, size_t at)
{
	if (at + 4 > b.size())
		return 0;
	return (std::uint32_t)(unsigned char)b[at] | (std::uint32_t)(unsigned char)b[at + 1] << 8 |
	       (std::uint32_t)(unsigned char)b[at + 2] << 16 |
	       (std::uint32_t)(unsigned char)b[at + 3] << 24;
}

// libarchive's "raw" format with every filter recognises whatever the
// kernel was compressed with (gzip, xz, zstd, lz4, bzip2, lzma).
std::string decompress(const char *data, size_t size)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	std::string out;
	struct archive_entry *entry;
	if (archive_read_open_memory(a, data, size) == ARCHIVE_OK &&
	    archive_read_next_header(a, &entry) == ARCHIVE_OK) {
		char buf[1 << 16];
		for (;;) {
			la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
			if (n <= 0)
				break;
			out.append(buf, n);
		}
	}
	archive_read_free(a);
	return out;
}

} // namespace

std::vector<std::string> parse_fault_list(const std::string &list)
{
	auto names = split_commas(list);
	std::set<std::string> seen;
	for (const auto &name : names) {
		if (name.empty() || name.find_first_of(" \t=") != std::string::npos)
			throw SetupError("--fault '" + list + "': knob names are separated by single "
					 "commas, without spaces (e.g. --fault preserve-lookup,drop-contents)");
		if (!seen.insert(name).second)
			throw SetupError("--fault '" + list + "': '" + name + "' is named twice");
	}
	return names;
}

std::string fault_cmdline(const std::vector<std::string> &knobs)
{
	std::string s = "luo_fault=";
	for (size_t i = 0; i < knobs.size(); i++)
		s += (i ? "," : "") + knobs[i];
	return s;
}

std::string bzimage_payload(const std::filesystem::path &bzimage)
{
	std::string b = read_file(bzimage);
	// The x86 boot protocol: "HdrS" at 0x202, setup_sects at 0x1f1, and
	// payload_offset/payload_length at 0x248/0x24c, relative to the
	// protected-mode code that follows the setup sectors.
	if (b.size() < 0x250 || b.compare(0x202, 4, "HdrS") != 0)
		throw SetupError(bzimage.string() + ": not an x86 bzImage (no HdrS header); "
				 "give --kernel the arch/x86/boot/bzImage of your build");
	unsigned setup_sects = (unsigned char)b[0x1f1];
	size_t pm = (size_t)((setup_sects ? setup_sects : 4) + 1) * 512;
	size_t off = pm + le32(b, 0x248), len = le32(b, 0x24c);
	if (len == 0 || off + len > b.size())
		throw SetupError(bzimage.string() + ": its header points outside the file; "
				 "is it truncated?");
	std::string vmlinux = decompress(b.data() + off, len);
	if (vmlinux.empty())
		throw SetupError(bzimage.string() + ": cannot decompress its payload (a "
				 "compression libarchive does not read?); rebuild with "
				 "CONFIG_KERNEL_XZ or CONFIG_KERNEL_GZIP");
	return vmlinux;
}

std::optional<std::vector<std::string>> knob_catalogue(const std::string &vmlinux)
{
	size_t at = vmlinux.find(kCatalogue);
	if (at == std::string::npos)
		return std::nullopt;
	at += std::strlen(kCatalogue);
	size_t end = vmlinux.find('\0', at);
	std::vector<std::string> out;
	for (auto &name : split_commas(vmlinux.substr(at, end == std::string::npos ? 0 : end - at)))
		if (!name.empty())
			out.push_back(std::move(name));
	return out;
}

void check_fault_knobs(const std::filesystem::path &bzimage, const std::vector<std::string> &knobs)
{
	if (knobs.empty())
		return;
	auto known = knob_catalogue(bzimage_payload(bzimage));
	if (!known)
		throw SetupError("--fault " + fault_cmdline(knobs).substr(10) + ": the kernel " +
				 bzimage.string() + " has no fault knobs (no '" + kCatalogue +
				 "' string in its image); build one with kernel-config/patches "
				 "(or a series that defines luo_fault knobs), or drop --fault");
	std::string names;
	for (const auto &k : *known)
		names += (names.empty() ? "" : ", ") + k;
	for (const auto &k : knobs)
		if (std::find(known->begin(), known->end(), k) == known->end())
			throw SetupError("--fault " + k + ": the kernel " + bzimage.string() +
					 " has no such knob; its knobs are: " + names);
}

int console_lines_ending(const std::string &console, const std::string &line)
{
	size_t at = 0;
	int found = 0;
	// The line must end there: "armed drop" is not "armed drop-contents".
	while ((at = console.find(line, at)) != std::string::npos) {
		size_t end = at + line.size();
		if (end == console.size() || console[end] == '\r' || console[end] == '\n')
			found++;
		at = end;
	}
	return found;
}

std::optional<std::string> knob_refusal(const std::string &console, const std::string &knob)
{
	const std::string mark = "luo_fault: refused " + knob + ": ";
	// "refused " before the name and ": " after it keep "drop" apart
	// from "x-drop" and "drop-contents".
	size_t at = console.find(mark);
	if (at == std::string::npos)
		return std::nullopt;
	size_t from = at + mark.size();
	size_t end = console.find_first_of("\r\n", from);
	return console.substr(from, end == std::string::npos ? end : end - from);
}

std::vector<std::string> unconfirmed_knobs(const std::string &console,
					   const std::vector<std::string> &knobs, int boots)
{
	std::vector<std::string> missing;
	for (const auto &k : knobs)
		// A handler built as a module refuses after the "armed" report.
		if (console_lines_ending(console, "luo_fault: armed " + k) < boots ||
		    knob_refusal(console, k))
			missing.push_back(k);
	return missing;
}

std::string unconfirmed_knob_message(const std::string &console, const std::string &knob,
				     int boots, const std::filesystem::path &console_log)
{
	if (auto why = knob_refusal(console, knob))
		return "the kernel refused --fault " + knob + ": " + *why + " (see " +
		       console_log.string() + "); boot it the way the knob needs, with the "
		       "contract's kernel block or --append, or drop the knob";
	return "the kernel did not confirm --fault " + knob + " on its console (no 'luo_fault: "
	       "armed " + knob + "' in each of its " + std::to_string(boots) + " boots, see " +
	       console_log.string() + "); its luo_fault= handling does not arm that knob";
}

} // namespace luo::host
