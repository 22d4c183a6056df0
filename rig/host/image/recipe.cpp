// SPDX-License-Identifier: GPL-2.0-only
#include "host/image/recipe.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/json_pos.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"

namespace luo::host {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const char *const kKinds[] = {"dir", "chardev", "file", "symlink", "tree"};

// The fields each kind of entry may carry, its own name first.
const std::map<std::string, std::vector<std::string>> kFields = {
	{"dir", {"dir", "mode"}},
	{"chardev", {"chardev", "major", "minor", "mode"}},
	{"file", {"file", "from", "content", "mode"}},
	{"symlink", {"symlink", "to"}},
	{"tree", {"tree", "from"}},
};

std::string join(const std::vector<std::string> &v, const char *sep = ", ")
{
	std::string s;
	for (const auto &x : v)
		s += (s.empty() ? "" : sep) + x;
	return s;
}

std::string describe(const json &j)
{
	switch (j.type()) {
	case json::value_t::string:
		return "string " + j.dump();
	case json::value_t::number_integer:
	case json::value_t::number_unsigned:
	case json::value_t::number_float:
		return "number " + j.dump();
	case json::value_t::object:
		return "an object";
	case json::value_t::array:
		return "an array";
	case json::value_t::boolean:
		return j.dump();
	default:
		return "null";
	}
}

class Recipe {
public:
	Recipe(const std::string &text, std::string file, fs::path base, const ImageInputs &inputs)
		: text_(text), file_(std::move(file)), base_(std::move(base)), inputs_(inputs)
	{
	}

	std::vector<ImageEntry> parse()
	{
		json top;
		try {
			top = json::parse(text_);
		} catch (const json::parse_error &e) {
			auto at = core::locate_syntax_error(text_, e.byte, e.what());
			throw SetupError(where(at.pos, at.pointer) + "not valid JSON: " + at.message + "; see " +
					 (images_dir() / "README.md").string());
		}
		pos_ = core::scan_positions(text_);
		if (!top.is_object())
			fail("", "a recipe is a JSON object with \"description\" and \"entries\"; see " +
					 (images_dir() / "README.md").string());
		for (const auto &[k, v] : top.items()) {
			std::string p = "/" + core::pointer_escape(k);
			if (k == "description") {
				if (!v.is_string())
					fail(p, "expected a one-line string, got " + describe(v));
			} else if (k != "entries") {
				fail(p, "unknown field '" + k + "'; a recipe has \"description\" and \"entries\"",
				     true);
			}
		}
		if (!top.contains("entries"))
			fail("", "missing field 'entries', e.g. \"entries\": [{\"dir\": \"dev\"}]");
		const json &entries = top["entries"];
		if (!entries.is_array())
			fail("/entries", "expected an array of entries, e.g. [{\"dir\": \"dev\"}], got " +
						 describe(entries));
		for (std::size_t i = 0; i < entries.size(); i++)
			entry(entries[i], i);
		return std::move(out_);
	}

private:
	const std::string &text_;
	std::string file_;
	fs::path base_;
	const ImageInputs &inputs_;
	core::PosMap pos_;
	std::vector<ImageEntry> out_;
	std::map<std::string, std::string> seen_;   // image path -> pointer of its entry
	std::set<std::string> dirs_;

	std::string where(core::Pos pos, const std::string &ptr) const
	{
		std::string s = file_ + ":" + std::to_string(pos.line) + ":" +
				std::to_string(pos.column) + ": at " + (ptr.empty() ? "/" : ptr);
		// "/entries/3/..." : say which entry in words too.
		if (ptr.rfind("/entries/", 0) == 0) {
			std::string idx = ptr.substr(9, ptr.find('/', 9) - 9);
			s += " (entry " + idx + ")";
		}
		return s + ": ";
	}

	[[noreturn]] void fail(const std::string &ptr, const std::string &msg, bool at_key = false) const
	{
		throw SetupError(where(at_key ? pos_.key(ptr) : pos_.value(ptr), ptr) + msg);
	}

	unsigned mode_of(const json &e, const std::string &ptr, unsigned dflt) const
	{
		if (!e.contains("mode"))
			return dflt;
		const json &m = e["mode"];
		std::string p = ptr + "/mode";
		if (!m.is_string())
			fail(p, "expected an octal string such as \"0755\", got " + describe(m) +
					(m.is_number() ? " (JSON numbers are decimal: quote the mode)" : ""));
		const std::string s = m.get<std::string>();
		bool ok = s.size() >= 3 && s.size() <= 4 &&
			  std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '7'; });
		if (!ok)
			fail(p, "bad mode '" + s + "'; write 3 or 4 octal digits such as \"0755\" or \"0644\"");
		return std::stoul(s, nullptr, 8);
	}

	std::string string_field(const json &e, const std::string &ptr, const std::string &key,
				 const std::string &example) const
	{
		if (!e.contains(key))
			fail(ptr, "missing field '" + key + "', e.g. " + example);
		const json &v = e[key];
		if (!v.is_string() || v.get<std::string>().empty())
			fail(ptr + "/" + key, "expected a non-empty string, got " + describe(v) +
						      "; e.g. " + example);
		return v.get<std::string>();
	}

	unsigned number_field(const json &e, const std::string &ptr, const std::string &key,
			      const std::string &example) const
	{
		if (!e.contains(key))
			fail(ptr, "missing field '" + key + "', e.g. " + example);
		const json &v = e[key];
		if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 0xfffff)
			fail(ptr + "/" + key, "expected a device number (0 to 1048575), got " + describe(v) +
						      "; e.g. " + example);
		return v.get<unsigned>();
	}

	// An image path: relative, no empty, '.' or '..' parts, so that every
	// entry lands where the recipe says and the parent check below holds.
	std::string image_path(const json &v, const std::string &ptr) const
	{
		if (!v.is_string())
			fail(ptr, "expected the path inside the image as a string, e.g. \"bin/sh\", got " +
					  describe(v));
		std::string s = v.get<std::string>();
		if (s.empty() || s.front() == '/')
			fail(ptr, "bad path '" + s + "'; write the path inside the image without a "
						     "leading '/', e.g. \"bin/sh\"");
		std::size_t start = 0;
		while (true) {
			std::size_t slash = s.find('/', start);
			std::string part = s.substr(start, slash - start);
			if (part.empty() || part == "." || part == "..")
				fail(ptr, "bad path '" + s + "'; use plain names separated by single "
							     "'/', e.g. \"usr/bin/strace\"");
			if (slash == std::string::npos)
				break;
			start = slash + 1;
		}
		return s;
	}

	// The kernel's initramfs unpacker does not create missing parents: an
	// entry under an undeclared directory would silently not be there.
	void add(ImageEntry e, const std::string &ptr, const std::string &path_ptr)
	{
		if (auto it = seen_.find(e.path); it != seen_.end())
			fail(path_ptr, "'" + e.path + "' is already in the image (" + it->second +
					       "); keep one of the two entries");
		if (auto slash = e.path.rfind('/'); slash != std::string::npos) {
			std::string parent = e.path.substr(0, slash);
			if (!dirs_.count(parent))
				fail(path_ptr, "the directory '" + parent + "' of '" + e.path +
						       "' is not in the image yet; add {\"dir\": \"" +
						       parent + "\"} before this entry");
		}
		seen_[e.path] = ptr;
		if (e.type == ImageEntry::Type::dir)
			dirs_.insert(e.path);
		out_.push_back(std::move(e));
	}

	const ImageInput &input(const std::string &from, const std::string &ptr) const
	{
		std::string name = from.substr(1);
		auto it = inputs_.find(name);
		if (it == inputs_.end()) {
			std::vector<std::string> have;
			for (const auto &[k, v] : inputs_)
				have.push_back("@" + k);
			fail(ptr, "no input '" + from + "' where this image is built (it provides " +
					  (have.empty() ? std::string("none") : join(have)) +
					  "); use one of those, or a host path relative to " +
					  base_.string() + " or absolute");
		}
		return it->second;
	}

	fs::path host_path(const std::string &from) const
	{
		fs::path p(from);
		return p.is_absolute() ? p : base_ / p;
	}

	void file(const json &e, const std::string &ptr, ImageEntry ie)
	{
		bool from = e.contains("from"), content = e.contains("content");
		if (from && content)
			fail(ptr + "/content", "a file has either 'from' or 'content', not both; drop one");
		if (!from && !content)
			fail(ptr, "missing field 'from', e.g. \"from\": \"@vmm\" or \"from\": "
				  "\"/usr/bin/strace\" (or 'content' with the text itself)");
		if (content) {
			if (!e["content"].is_string())
				fail(ptr + "/content", "expected the file's text as a string, got " +
							       describe(e["content"]));
			ie.content = e["content"].get<std::string>();
		} else {
			std::string src = string_field(e, ptr, "from", "\"from\": \"@vmm\"");
			std::string fp = ptr + "/from";
			if (src.front() == '@') {
				const ImageInput &in = input(src, fp);
				if (in.path.empty())
					ie.content = in.content;
				else if (!fs::is_regular_file(in.path))
					fail(fp, "the input '" + src + "' is " + in.path.string() +
							 ", which is not a file; install or build it first");
				else
					ie.source = in.path;
			} else {
				ie.source = host_path(src);
				if (!fs::is_regular_file(ie.source))
					fail(fp, ie.source.string() + ": no such file; fix the path (relative "
								       "to " + base_.string() + ", or absolute) "
								       "or create the file");
			}
		}
		ie.mode = mode_of(e, ptr, 0644);
		add(std::move(ie), ptr, ptr + "/file");
	}

	void tree_walk(const fs::path &dir, const std::string &at, const std::string &ptr)
	{
		std::vector<fs::directory_entry> kids(fs::directory_iterator(dir), {});
		std::sort(kids.begin(), kids.end());
		for (const auto &k : kids) {
			ImageEntry ie;
			ie.path = at + "/" + k.path().filename().string();
			auto st = k.symlink_status();
			if (fs::is_symlink(st)) {
				ie.type = ImageEntry::Type::symlink;
				ie.target = fs::read_symlink(k.path()).string();
			} else if (fs::is_directory(st)) {
				ie.type = ImageEntry::Type::dir;
				ie.mode = 0755;
			} else if (fs::is_regular_file(st)) {
				ie.source = k.path();
				ie.mode = static_cast<unsigned>(st.permissions()) & 07777;
			} else {
				fail(ptr + "/from", k.path().string() + " is neither a file, a directory nor "
									"a symlink; remove it from the tree");
			}
			bool recurse = ie.type == ImageEntry::Type::dir;
			std::string sub = ie.path;
			add(std::move(ie), ptr, ptr + "/tree");
			if (recurse)
				tree_walk(k.path(), sub, ptr);
		}
	}

	void tree(const json &e, const std::string &ptr, ImageEntry ie)
	{
		std::string src = string_field(e, ptr, "from", "\"from\": \"@selftests\"");
		std::string fp = ptr + "/from";
		fs::path dir;
		if (src.front() == '@') {
			const ImageInput &in = input(src, fp);
			if (in.path.empty())
				fail(fp, "the input '" + src + "' is text, not a directory; a tree copies a "
								"host directory: use a 'file' entry for it");
			dir = in.path;
		} else {
			dir = host_path(src);
		}
		if (!fs::is_directory(dir))
			fail(fp, dir.string() + ": no such directory; fix the path (relative to " +
					 base_.string() + ", or absolute) or create it");
		ie.type = ImageEntry::Type::dir;
		ie.mode = 0755;
		std::string at = ie.path;
		add(std::move(ie), ptr, ptr + "/tree");
		tree_walk(dir, at, ptr);
	}

	void entry(const json &e, std::size_t i)
	{
		std::string ptr = "/entries/" + std::to_string(i);
		if (!e.is_object())
			fail(ptr, "expected an object such as {\"dir\": \"tmp\"}, got " + describe(e));
		std::string kind;
		for (const char *k : kKinds) {
			if (!e.contains(k))
				continue;
			if (!kind.empty())
				fail(ptr + "/" + k, "one entry is one thing, and this one has both '" + kind +
							    "' and '" + k + "'; split it into two entries",
				     true);
			kind = k;
		}
		if (kind.empty())
			fail(ptr, "an entry needs one of 'dir', 'chardev', 'file', 'symlink' or 'tree', "
				  "e.g. {\"dir\": \"tmp\"}");
		const auto &allowed = kFields.at(kind);
		for (const auto &[k, v] : e.items())
			if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
				fail(ptr + "/" + core::pointer_escape(k),
				     "unknown field '" + k + "' in a " + kind + " entry; it may have " +
					     join(allowed),
				     true);

		ImageEntry ie;
		ie.path = image_path(e[kind], ptr + "/" + kind);
		if (kind == "dir") {
			ie.type = ImageEntry::Type::dir;
			ie.mode = mode_of(e, ptr, 0755);
			add(std::move(ie), ptr, ptr + "/dir");
		} else if (kind == "chardev") {
			const char *ex = "{\"chardev\": \"dev/console\", \"major\": 5, \"minor\": 1}";
			ie.type = ImageEntry::Type::chardev;
			ie.major = number_field(e, ptr, "major", ex);
			ie.minor = number_field(e, ptr, "minor", ex);
			ie.mode = mode_of(e, ptr, 0600);
			add(std::move(ie), ptr, ptr + "/chardev");
		} else if (kind == "symlink") {
			ie.type = ImageEntry::Type::symlink;
			ie.target = string_field(e, ptr, "to", "{\"symlink\": \"bin/sh\", \"to\": \"busybox\"}");
			ie.mode = 0777;
			add(std::move(ie), ptr, ptr + "/symlink");
		} else if (kind == "file") {
			file(e, ptr, std::move(ie));
		} else {
			tree(e, ptr, std::move(ie));
		}
	}
};

} // namespace

fs::path images_dir()
{
	return source_root() / "images";
}

fs::path image_recipe_path(const std::string &name_or_path)
{
	if (name_or_path.find('/') != std::string::npos ||
	    (name_or_path.size() > 5 && name_or_path.ends_with(".json")))
		return name_or_path;
	return images_dir() / (name_or_path + ".json");
}

std::vector<ImageEntry> load_image(const std::string &name_or_path, const ImageInputs &inputs)
{
	fs::path path = image_recipe_path(name_or_path);
	if (!fs::is_regular_file(path)) {
		std::vector<std::string> names;
		std::error_code ec;
		for (const auto &d : fs::directory_iterator(images_dir(), ec))
			if (d.path().extension() == ".json")
				names.push_back(d.path().stem().string());
		std::sort(names.begin(), names.end());
		throw SetupError(path.string() + ": no such image recipe; images in " +
				 images_dir().string() + ": " +
				 (names.empty() ? std::string("none (is LUO_RIG_HOME right?)") : join(names)));
	}
	std::string text = read_file(path);
	return Recipe(text, path.string(), path.parent_path(), inputs).parse();
}

std::vector<ImageEntry> parse_image(const std::string &text, const std::string &file,
				    const fs::path &base, const ImageInputs &inputs)
{
	return Recipe(text, file, base, inputs).parse();
}

std::vector<ImageEntry> guest_image(const fs::path &vmm, const fs::path &kernel,
				    const std::string &plan_json, const fs::path &busybox)
{
	ImageInputs in{{"vmm", ImageInput::host(vmm)},
		       {"kernel", ImageInput::host(kernel)},
		       {"plan", ImageInput::literal(plan_json)}};
	if (busybox.empty())
		return load_image("vmm", in);
	in["busybox"] = ImageInput::host(busybox);
	return load_image("shell", in);
}

} // namespace luo::host
