// SPDX-License-Identifier: GPL-2.0-only
//
// A contract file -> Contract.  The format is scenarios/contracts/schema.json;
// every complaint names file:line:column, the JSON pointer and the fix, like
// a scenario's.
#include "contract.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/json_pos.hpp"
#include "core/scenario.hpp"

namespace luo::core {

using json = nlohmann::ordered_json;

namespace {

std::string join(const std::vector<std::string> &v)
{
	std::string out;
	for (const auto &s : v)
		out += (out.empty() ? "" : ", ") + s;
	return out;
}

// One section of rules: what happens in one situation, and its errno.
struct Section {
	const char *name;    // "preserve"
	const char *when;    // "before_dependency"
	const char *good;    // the lenient answer: "accept"
	const char *bad;     // the refusing answer: "refuse"
};

constexpr Section kPreserve{"preserve", "before_dependency", "accept", "refuse"};
constexpr Section kFreeze{"freeze", "without_dependency", "accept", "refuse"};
constexpr Section kRetrieve{"retrieve", "before_dependency", "restore-dependency", "refuse"};
constexpr Section kFinish{"finish", "dependency_not_retrieved", "accept", "refuse"};

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

	void section(const json &j, const std::string &ptr, const Section &s, bool &refuses,
		     std::string &err) const;
	void rules(const json &j, const std::string &ptr, EdgeRules &r) const;
	void kernel(const json &j, const std::string &ptr, Contract &c) const;
};

void Reader::section(const json &j, const std::string &ptr, const Section &s, bool &refuses,
		     std::string &err) const
{
	fields(j, ptr, {s.when, "error"});
	if (j.contains(s.when)) {
		std::string v = str(j[s.when], ptr + "/" + s.when, "a string");
		if (v != s.good && v != s.bad)
			fail(ptr + "/" + s.when, "'" + v + "' is not an answer here; use \"" + s.good +
							 "\" or \"" + s.bad + "\"");
		refuses = v == s.bad;
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
			r.preserve_dependency_err);
	if (j.contains("freeze"))
		section(j["freeze"], ptr + "/freeze", kFreeze, r.freeze_needs_dependency,
			r.freeze_dependency_err);
	if (j.contains("retrieve")) {
		section(j["retrieve"], ptr + "/retrieve", kRetrieve, r.retrieve_needs_dependency,
			r.retrieve_dependency_err);
		// A dependent refused until its dependency is retrieved leaves the
		// kernel nothing to retrieve on its behalf.
		r.retrieve_binds_dependency = !r.retrieve_needs_dependency;
	}
	if (j.contains("finish"))
		section(j["finish"], ptr + "/finish", kFinish, r.finish_needs_user_dependency,
			r.finish_dependency_err);
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

Contract Reader::read(const json &j)
{
	fields(j, "", {"$schema", "name", "description", "rules", "edges", "kernel"});
	Contract c;
	c.name = default_name_;
	if (j.contains("name"))
		c.name = str(j["name"], "/name", "a name");
	if (c.name.empty() || c.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") !=
				      std::string::npos)
		fail("/name", "bad contract name '" + c.name + "'; use a-z 0-9 - _ .");
	if (j.contains("description"))
		c.description = str(j["description"], "/description", "a string");
	if (j.contains("rules"))
		rules(j["rules"], "/rules", c.rules);
	if (j.contains("edges")) {
		const json &edges = j["edges"];
		if (!edges.is_object())
			fail("/edges", "expected an object keyed by edge, e.g. \"vfio-cdev->iommufd\"");
		std::vector<std::string> names;
		for (const auto &e : dependency_edges())
			names.push_back(edge_name(e));
		for (const auto &[k, v] : edges.items()) {
			std::string ptr = "/edges/" + pointer_escape(k);
			auto at = std::find(names.begin(), names.end(), k);
			if (at == names.end())
				fail(ptr, "'" + k + "' is not a dependency edge; edges are: " + join(names), true);
			// An edge starts from the file's own rules and changes what it names.
			EdgeRules r = c.rules;
			rules(v, ptr, r);
			c.edges[dependency_edges()[at - names.begin()]] = r;
		}
	}
	if (j.contains("kernel"))
		kernel(j["kernel"], "/kernel", c);
	return c;
}

} // namespace

Contract parse_contract(const std::string &text, const std::string &file)
{
	json j;
	try {
		j = json::parse(text);
	} catch (const json::parse_error &e) {
		auto at = locate_syntax_error(text, e.byte, e.what());
		throw ScenarioError(file, at.pos, at.pointer, "not valid JSON: " + at.message);
	}
	std::string stem = file.substr(file.find_last_of('/') + 1);
	if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".json") == 0)
		stem.resize(stem.size() - 5);
	return Reader(file, scan_positions(text), stem).read(j);
}

Contract load_contract(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw ScenarioError(path, {}, "", "cannot open the contract file");
	std::ostringstream ss;
	ss << in.rdbuf();
	return parse_contract(ss.str(), path);
}

} // namespace luo::core
