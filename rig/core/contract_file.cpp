// SPDX-License-Identifier: GPL-2.0-only
//
// A contract file -> Contract.  The format is scenarios/contracts/schema.json;
// every complaint names file:line:column, the JSON pointer and the fix, like
// a scenario's.
#include "contract.hpp"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "core/json_input.hpp"
#include "core/json_pos.hpp"
#include "core/scenario.hpp"

namespace luo::core {

using json = nlohmann::ordered_json;

namespace {

// One section of rules: what happens in one situation, and its errno.
struct Section {
	const char *when;    // "before_dependency"
	const char *good;    // the lenient answer: "accept"
	const char *bad;     // the refusing answer: "refuse"
};

constexpr Section kPreserve{"before_dependency", "accept", "refuse"};
constexpr Section kFreeze{"without_dependency", "accept", "refuse"};
constexpr Section kRetrieve{"before_dependency", "restore-dependency", "refuse"};
constexpr Section kFinish{"dependency_not_retrieved", "accept", "refuse"};
constexpr Section kOpen{"before_retrieve", "accept", "refuse"};

class Reader {
public:
	Reader(std::string file, PosMap pos, std::string name)
		: file_(std::move(file)), pos_(std::move(pos)), default_name_(std::move(name))
	{
	}

	Contract read(const json &j);

private:
	std::string file_;
	PosMap pos_;
	std::string default_name_;

	[[noreturn]] void fail(const std::string &ptr, const std::string &msg, bool at_key = false) const
	{
		throw ScenarioError(file_, at_key ? pos_.key(ptr) : pos_.value(ptr), ptr, msg);
	}

	void fields(const json &j, const std::string &ptr, const std::vector<std::string> &known) const
	{
		if (!j.is_object())
			fail(ptr, "expected an object, got " + j.dump());
		for (const auto &[k, v] : j.items())
			if (std::find(known.begin(), known.end(), k) == known.end())
				fail(ptr + "/" + pointer_escape(k),
				     "unknown field '" + k + "'; fields here are: " + join(known), true);
	}

	std::string str(const json &j, const std::string &ptr, const char *what) const
	{
		if (!j.is_string())
			fail(ptr, std::string("expected ") + what + ", got " + j.dump());
		return j.get<std::string>();
	}

	std::string errno_value(const json &j, const std::string &ptr) const
	{
		std::string e = str(j, ptr, "an errno name such as \"ENOENT\"");
		// The guest reports errnos by their canonical name, so an alias
		// would never match what it sees.
		static const std::map<std::string, std::string> aliases{
			{"EWOULDBLOCK", "EAGAIN"}, {"EDEADLOCK", "EDEADLK"}, {"ENOTSUP", "EOPNOTSUPP"}};
		if (auto a = aliases.find(e); a != aliases.end())
			fail(ptr, "'" + e + "' is reported as " + a->second + "; write " + a->second);
		int n = protocol::errno_from_name(e);
		if (n == 0 || e.rfind('E', 0) != 0)
			fail(ptr, "'" + e + "' is not an errno name; use the kernel's, e.g. ENOENT, EBUSY, EINVAL");
		if (protocol::errno_name(n) != e)
			fail(ptr, "'" + e + "' is reported as " + protocol::errno_name(n) + "; write " +
					  protocol::errno_name(n));
		return e;
	}

	// A string that must be one of two answers; the message names both,
	// each with what it means when `a_means`/`b_means` say it.
	std::string answer(const json &j, const std::string &ptr, const char *a, const char *b,
			   const char *a_means = nullptr, const char *b_means = nullptr) const
	{
		std::string v = str(j, ptr, "a string");
		auto named = [](const char *x, const char *means) {
			return "\"" + std::string(x) + "\"" + (means ? std::string(" (") + means + ")" : "");
		};
		if (v != a && v != b)
			fail(ptr, "'" + v + "' is not an answer here; use " + named(a, a_means) + " or " +
					  named(b, b_means));
		return v;
	}

	void section(const json &j, const std::string &ptr, const Section &s, bool &refuses,
		     std::string &err,
		     std::map<std::string, RuleSource> *sources = nullptr) const;
	void rules(const json &j, const std::string &ptr, EdgeRules &r) const;
	void kernel(const json &j, const std::string &ptr, Contract &c) const;
	void kinds(const json &j, const std::string &ptr, Contract &c) const;
	RuleSource source(const json &j, const std::string &ptr) const;
	void vfio(const json &j, const std::string &ptr, Contract &c) const;
	void gmem(const json &j, const std::string &ptr, GmemRules &g) const;
	void iommufd(const json &j, const std::string &ptr, IommufdRules &r) const;
	void iommufd_retrieve(const json &q, const std::string &at, IommufdRules &r) const;
};

RuleSource Reader::source(const json &j, const std::string &ptr) const
{
	fields(j, ptr, {"message_id", "version", "date"});
	if (!j.contains("message_id") || !j.contains("version"))
		fail(ptr, "give \"message_id\" (\"<...@...>\") and \"version\" (\"v5\") of the posted "
			  "patch the rule is read from");
	RuleSource s;
	s.message_id = str(j["message_id"], ptr + "/message_id", "a message-id");
	if (s.message_id.size() < 5 || s.message_id.front() != '<' || s.message_id.back() != '>' ||
	    s.message_id.find('@') == std::string::npos)
		fail(ptr + "/message_id", "'" + s.message_id + "' is not a message-id; write it with its "
			  "angle brackets, e.g. \"<20260714151505.3466855-11-someone@example.org>\"");
	s.version = str(j["version"], ptr + "/version", "a series version");
	if (s.version.empty())
		fail(ptr + "/version", "name the series version, e.g. \"v5\" or \"RFC v2\"");
	if (j.contains("date")) {
		s.date = str(j["date"], ptr + "/date", "a date");
		auto digit = [](char ch) { return ch >= '0' && ch <= '9'; };
		bool ok = s.date.size() == 10 && s.date[4] == '-' && s.date[7] == '-';
		for (std::size_t i = 0; ok && i < s.date.size(); i++)
			ok = i == 4 || i == 7 || digit(s.date[i]);
		if (!ok)
			fail(ptr + "/date", "'" + s.date + "' is not a date; write YYYY-MM-DD");
	}
	return s;
}

// kinds.vfio-cdev: D1's open (and the paths it covers), what PRESERVE_FD
// needs of the device's page table, what a retrieve returns, and FINISH with
// the device preserved.
void Reader::vfio(const json &v, const std::string &at, Contract &c) const
{
	fields(v, at, {"open", "preserve", "retrieve", "finish", "bind"});
	if (v.contains("bind")) {
		const std::string ptr = at + "/bind";
		const json &b = v["bind"];
		fields(b, ptr, {"after_marked_hwpt", "error", "source"});
		if (b.contains("after_marked_hwpt"))
			c.vfio.bind_refused_after_marked =
				answer(b["after_marked_hwpt"], ptr + "/after_marked_hwpt", "any", "refuse",
				       "the device binds to any iommufd in the next kernel",
				       "its group stays owned by the preserved HWPT: every bind fails") ==
				"refuse";
		if (b.contains("error")) {
			if (!c.vfio.bind_refused_after_marked)
				fail(ptr + "/error", "an errno is for a refused bind; remove it or say "
						     "\"after_marked_hwpt\": \"refuse\"", true);
			c.vfio.bind_err = errno_value(b["error"], ptr + "/error");
		}
		if (b.contains("source"))
			c.vfio.bind_source = source(b["source"], ptr + "/source");
	}
	if (v.contains("preserve")) {
		const std::string ptr = at + "/preserve";
		const json &p = v["preserve"];
		fields(p, ptr, {"hwpt", "error", "source"});
		if (p.contains("hwpt"))
			c.vfio.preserve_needs_marked_hwpt =
				answer(p["hwpt"], ptr + "/hwpt", "any", "marked",
				       "whatever page table the device is attached to",
				       "a device attached to a page table must be attached to a HWPT "
				       "marked with IOMMU_HWPT_LU_SET_PRESERVE") == "marked";
		if (p.contains("error")) {
			if (!c.vfio.preserve_needs_marked_hwpt)
				fail(ptr + "/error", "an errno is for a marked HWPT; remove it or say "
						     "\"hwpt\": \"marked\"", true);
			c.vfio.unmarked_err = errno_value(p["error"], ptr + "/error");
		}
		if (p.contains("source"))
			c.vfio.preserve_source = source(p["source"], ptr + "/source");
	}
	if (v.contains("open")) {
		const std::string ptr = at + "/open";
		fields(v["open"], ptr, {"before_retrieve", "error", "paths", "source"});
		// The D1 answer itself reads like any other section.
		json d1 = v["open"];
		d1.erase("paths");
		d1.erase("source");
		section(d1, ptr, kOpen, c.vfio_cdev.open_needs_retrieve, c.vfio_cdev.open_err);
		if (v["open"].contains("paths")) {
			const json &paths = v["open"]["paths"];
			const std::string pp = ptr + "/paths";
			if (!paths.is_array() || paths.empty())
				fail(pp, "expected a list of open paths: [\"cdev\"] or [\"cdev\", \"group\"]");
			bool cdev = false, group = false;
			for (std::size_t i = 0; i < paths.size(); i++) {
				std::string p = str(paths[i], pp + "/" + std::to_string(i), "an open path");
				bool &seen = p == "cdev" ? cdev : group;
				if (p != "cdev" && p != "group")
					fail(pp + "/" + std::to_string(i),
					     "'" + p + "' is not an open path; use \"cdev\" (/dev/vfio/devices/vfioN) "
						       "or \"group\" (/dev/vfio/<group>, VFIO_GROUP_GET_DEVICE_FD)");
				if (seen)
					fail(pp + "/" + std::to_string(i), "'" + p + "' is listed twice");
				seen = true;
			}
			// The cdev is the device's own node: a handler that guards
			// only the group would leave D1 without its main case.
			if (!cdev)
				fail(pp, "D1 always covers the cdev; list \"cdev\" (and \"group\" if the group "
					 "path is guarded too)");
			c.vfio.open_group = group;
		}
		if (v["open"].contains("source"))
			c.vfio.open_source = source(v["open"]["source"], ptr + "/source");
	}
	if (v.contains("retrieve")) {
		const std::string ptr = at + "/retrieve";
		const json &r = v["retrieve"];
		fields(r, ptr, {"returns", "source"});
		if (r.contains("returns")) {
			c.vfio.retrieve_unbound =
				answer(r["returns"], ptr + "/returns", "bound", "unbound",
				       "the kernel binds the device to its iommufd", "userspace binds it") ==
				"unbound";
		}
		if (r.contains("source"))
			c.vfio.retrieve_source = source(r["source"], ptr + "/source");
	}
	if (v.contains("finish")) {
		const std::string ptr = at + "/finish";
		const json &f = v["finish"];
		fields(f, ptr, {"unretrieved", "until", "error", "source"});
		if (f.contains("unretrieved")) {
			c.vfio.finish_refuses_unretrieved =
				answer(f["unretrieved"], ptr + "/unretrieved", "discard", "refuse", "C5",
				       "FINISH fails while the device is unretrieved") == "refuse";
		}
		const bool refuses = c.vfio.finish_refuses_unretrieved;
		if (f.contains("until")) {
			if (!refuses)
				fail(ptr + "/until", "\"until\" says how long FINISH refuses; add "
					  "\"unretrieved\": \"refuse\" or remove it", true);
			c.vfio.finish_until_bound =
				answer(f["until"], ptr + "/until", "retrieved", "bound", nullptr,
				       "until userspace has bound the retrieved device") == "bound";
		}
		if (f.contains("error")) {
			if (!refuses)
				fail(ptr + "/error", "an errno is for \"refuse\"; remove it or say "
					  "\"unretrieved\": \"refuse\"", true);
			c.vfio.finish_err = errno_value(f["error"], ptr + "/error");
		}
		if (f.contains("source"))
			c.vfio.finish_source = source(f["source"], ptr + "/source");
	}
}

void Reader::gmem(const json &j, const std::string &ptr, GmemRules &g) const
{
	fields(j, ptr, {"preserve"});
	if (!j.contains("preserve"))
		return;
	const json &p = j["preserve"];
	std::string at = ptr + "/preserve";
	fields(p, at, {"freezes", "error", "source"});
	if (p.contains("freezes")) {
		if (!p["freezes"].is_boolean())
			fail(at + "/freezes", "expected true (writes after PRESERVE_FD are refused) or false");
		g.preserve_freezes = p["freezes"].get<bool>();
	}
	if (p.contains("error")) {
		if (!g.preserve_freezes)
			fail(at + "/error", "an errno is for a frozen guest_memfd; remove it or say "
					   "\"freezes\": true", true);
		g.freeze_err = errno_value(p["error"], at + "/error");
	}
	if (p.contains("source"))
		g.source = source(p["source"], at + "/source");
}

// kinds.iommufd.retrieve: whether the next kernel gives the iommufd back.
void Reader::iommufd_retrieve(const json &q, const std::string &at, IommufdRules &r) const
{
	fields(q, at, {"restores", "error", "finish_error", "source"});
	if (q.contains("restores"))
		r.restores_nothing =
			answer(q["restores"], at + "/restores", "file", "nothing",
			       "RETRIEVE_FD returns the iommufd with its IOAS and mappings",
			       "RETRIEVE_FD fails and FINISH never completes (no .can_finish())") ==
			"nothing";
	for (const char *key : {"error", "finish_error"}) {
		if (!q.contains(key))
			continue;
		if (!r.restores_nothing)
			fail(at + "/" + key, "an errno is for an iommufd that is not restored; remove it "
					     "or say \"restores\": \"nothing\"", true);
		(std::string(key) == "error" ? r.retrieve_err : r.finish_err) =
			errno_value(q[key], at + "/" + key);
	}
	if (q.contains("source"))
		r.retrieve_source = source(q["source"], at + "/source");
}

void Reader::iommufd(const json &j, const std::string &ptr, IommufdRules &r) const
{
	fields(j, ptr, {"preserve", "retrieve"});
	if (j.contains("retrieve"))
		iommufd_retrieve(j["retrieve"], ptr + "/retrieve", r);
	if (!j.contains("preserve"))
		return;
	const json &p = j["preserve"];
	std::string at = ptr + "/preserve";
	fields(p, at, {"carries", "seal_error", "immutable_error", "source"});
	if (p.contains("carries")) {
		r.preserve_marked_hwpts =
			answer(p["carries"], at + "/carries", "everything", "marked-hwpts",
			       "every IOAS and its mappings",
			       "only HWPTs marked with IOMMU_HWPT_LU_SET_PRESERVE, sealed, then "
			       "immutable") == "marked-hwpts";
	}
	for (const char *key : {"seal_error", "immutable_error"}) {
		if (!p.contains(key))
			continue;
		if (!r.preserve_marked_hwpts)
			fail(at + "/" + key, "an errno is for marked HWPTs; remove it or say "
					     "\"carries\": \"marked-hwpts\"", true);
		(std::string(key) == "seal_error" ? r.seal_err : r.immutable_err) =
			errno_value(p[key], at + "/" + key);
	}
	if (p.contains("source"))
		r.source = source(p["source"], at + "/source");
}

void Reader::section(const json &j, const std::string &ptr, const Section &s, bool &refuses,
		     std::string &err, std::map<std::string, RuleSource> *sources) const
{
	fields(j, ptr, sources ? std::vector<std::string>{s.when, "error", "source"}
			       : std::vector<std::string>{s.when, "error"});
	if (sources && j.contains("source"))
		(*sources)[ptr.substr(ptr.rfind('/') + 1)] = source(j["source"], ptr + "/source");
	if (j.contains(s.when)) {
		refuses = answer(j[s.when], ptr + "/" + s.when, s.good, s.bad) == s.bad;
	}
	if (j.contains("error")) {
		if (j.contains(s.when) && !refuses)
			fail(ptr + "/error", std::string("an errno is for \"") + s.bad + "\"; remove it or say \"" +
						     s.when + "\": \"" + s.bad + "\"", true);
		err = errno_value(j["error"], ptr + "/error");
	}
}

void Reader::rules(const json &j, const std::string &ptr, EdgeRules &r) const
{
	fields(j, ptr, {"preserve", "freeze", "retrieve", "finish"});
	if (j.contains("preserve"))
		section(j["preserve"], ptr + "/preserve", kPreserve, r.preserve_needs_dependency,
			r.preserve_dependency_err, &r.sources);
	if (j.contains("freeze"))
		section(j["freeze"], ptr + "/freeze", kFreeze, r.freeze_needs_dependency,
			r.freeze_dependency_err, &r.sources);
	if (j.contains("retrieve")) {
		section(j["retrieve"], ptr + "/retrieve", kRetrieve, r.retrieve_needs_dependency,
			r.retrieve_dependency_err, &r.sources);
		// A dependent refused until its dependency is retrieved leaves the
		// kernel nothing to retrieve on its behalf.
		r.retrieve_binds_dependency = !r.retrieve_needs_dependency;
	}
	if (j.contains("finish"))
		section(j["finish"], ptr + "/finish", kFinish, r.finish_needs_user_dependency,
			r.finish_dependency_err, &r.sources);
}

void Reader::kernel(const json &j, const std::string &ptr, Contract &c) const
{
	fields(j, ptr, {"cmdline", "confirms"});
	if (!j.contains("cmdline") || !j.contains("confirms"))
		fail(ptr, "give both \"cmdline\" (the kernel parameters) and \"confirms\" (the "
			  "console line each boot prints when it takes them)");
	c.kernel_cmdline = str(j["cmdline"], ptr + "/cmdline", "kernel parameters");
	if (c.kernel_cmdline.empty() || c.kernel_cmdline.find_first_of("\n\"") != std::string::npos)
		fail(ptr + "/cmdline", "give the parameters on one line, without quotes");
	const json &conf = j["confirms"];
	if (!conf.is_array() || conf.empty())
		fail(ptr + "/confirms", "expected a list of console lines, at least one");
	for (std::size_t i = 0; i < conf.size(); i++) {
		std::string line = str(conf[i], ptr + "/confirms/" + std::to_string(i), "a console line");
		if (line.empty())
			fail(ptr + "/confirms/" + std::to_string(i), "an empty line confirms nothing");
		c.kernel_confirms.push_back(line);
	}
}

void Reader::kinds(const json &j, const std::string &ptr, Contract &c) const
{
	if (!j.is_object())
		fail(ptr, "expected an object keyed by object kind, e.g. \"vfio-cdev\"");
	for (const auto &[k, v] : j.items()) {
		std::string at = ptr + "/" + pointer_escape(k);
		// Only a VFIO device has a node of its own that userspace can
		// open again in the new kernel; the other kinds' files are made
		// anew, never reopened.
		if (k == "guest-memfd") {
			gmem(v, at, c.guest_memfd);
			continue;
		}
		if (k == "iommufd") {
			iommufd(v, at, c.iommufd);
			continue;
		}
		if (k != "vfio-cdev")
			fail(at, "'" + k + "' has no rules of its own; only \"vfio-cdev\" (opening "
					 "its device node, binding it), \"guest-memfd\" (frozen at "
					 "PRESERVE_FD) and \"iommufd\" (what PRESERVE_FD carries, what "
					 "RETRIEVE_FD gives back) have",
			     true);
		vfio(v, at, c);
	}
}

Contract Reader::read(const json &j)
{
	fields(j, "", {"$schema", "name", "description", "rules", "edges", "kinds", "kernel"});
	Contract c;
	c.name = default_name_;
	if (j.contains("name"))
		c.name = str(j["name"], "/name", "a name");
	if (!valid_name(c.name))
		fail("/name", "bad contract name '" + c.name + "'; use 1-48 characters from a-z 0-9 - _ .");
	if (j.contains("description"))
		c.description = str(j["description"], "/description", "a string");
	if (j.contains("rules"))
		rules(j["rules"], "/rules", c.rules);
	if (j.contains("edges")) {
		const json &edges = j["edges"];
		if (!edges.is_object())
			fail("/edges", "expected an object keyed by edge, e.g. \"vfio-cdev->iommufd\"");
		const auto known = dependency_edges();
		for (const auto &[k, v] : edges.items()) {
			std::string ptr = "/edges/" + pointer_escape(k);
			auto e = std::find_if(known.begin(), known.end(),
					      [&](const Edge &x) { return edge_name(x) == k; });
			if (e == known.end()) {
				std::vector<std::string> names;
				for (const auto &x : known)
					names.push_back(edge_name(x));
				fail(ptr, "'" + k + "' is not a dependency edge; edges are: " + join(names), true);
			}
			// An edge starts from the file's own rules and changes what it names.
			EdgeRules r = c.rules;
			rules(v, ptr, r);
			c.edges[*e] = r;
		}
	}
	if (j.contains("kinds"))
		kinds(j["kinds"], "/kinds", c);
	// The VMM marks the HWPT it binds a device through; a device the
	// kernel binds inside retrieve has none, and P7 would check nothing.
	if (c.iommufd.preserve_marked_hwpts && !c.vfio.retrieve_unbound)
		fail("/kinds/iommufd/preserve/carries",
		     "marked HWPTs need devices retrieved unbound, which the VMM binds through an "
		     "HWPT it marks; add \"vfio-cdev\": {\"retrieve\": {\"returns\": \"unbound\"}}",
		     true);
	// Without marked HWPTs the VMM marks nothing, and every device would
	// be refused.
	if (c.vfio.preserve_needs_marked_hwpt && !c.iommufd.preserve_marked_hwpts)
		fail("/kinds/vfio-cdev/preserve/hwpt",
		     "a device can be attached to a marked HWPT only when the iommufd carries marked "
		     "HWPTs; add \"iommufd\": {\"preserve\": {\"carries\": \"marked-hwpts\"}} or "
		     "say \"hwpt\": \"any\"",
		     true);
	// Only a device the VMM attached through a marked HWPT comes back
	// owned by it.
	if (c.vfio.bind_refused_after_marked && !c.iommufd.preserve_marked_hwpts)
		fail("/kinds/vfio-cdev/bind/after_marked_hwpt",
		     "a device is attached through a marked HWPT only when the iommufd carries marked "
		     "HWPTs; add \"iommufd\": {\"preserve\": {\"carries\": \"marked-hwpts\"}} or "
		     "say \"after_marked_hwpt\": \"any\"",
		     true);
	if (j.contains("kernel"))
		kernel(j["kernel"], "/kernel", c);
	return c;
}

} // namespace

Contract parse_contract(const std::string &text, const std::string &file)
{
	json j = parse_input(text, file);
	return Reader(file, scan_positions(text), input_stem(file)).read(j);
}

Contract load_contract(const std::string &path)
{
	return parse_contract(read_input(path, "the contract file"), path);
}

} // namespace luo::core
