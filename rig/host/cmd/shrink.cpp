// SPDX-License-Identifier: GPL-2.0-only
#include "host/cmd/shrink.hpp"

#include <algorithm>
#include <set>

#include "core/scenario.hpp"
#include "host/util/strings.hpp"

namespace luo::host {

using json = nlohmann::ordered_json;

namespace {

// `name` and everything that depends on it, directly or not.  The parser
// resolves each depends_on, the ones left out included.
std::set<std::string> with_dependents(const core::Scenario &sc, const std::string &name)
{
	std::set<std::string> out{name};
	for (bool grew = true; grew;) {
		grew = false;
		for (const auto &o : sc.objects)
			if (!out.count(o.name) &&
			    (out.count(o.depends_on) ||
			     std::any_of(o.also_maps.begin(), o.also_maps.end(),
					 [&](const std::string &m) { return out.count(m) > 0; }))) {
				out.insert(o.name);
				grew = true;
			}
	}
	return out;
}

void erase_names(json &list, const std::set<std::string> &gone)
{
	json kept = json::array();
	for (const auto &n : list)
		if (!gone.count(n.get<std::string>()))
			kept.push_back(n);
	list = kept;
}

// Removes the objects and what refers to them; false when nothing is left
// to test.
bool drop_objects(json &doc, const std::set<std::string> &gone)
{
	for (const auto &g : gone)
		doc["objects"].erase(g);
	if (doc["objects"].empty())
		return false;
	if (doc.contains("sessions")) {
		json kept = json::object();
		for (auto &[s, members] : doc["sessions"].items()) {
			erase_names(members, gone);
			if (!members.empty())
				kept[s] = members;
		}
		doc["sessions"] = kept;
	}
	erase_names(doc["preserve"][0], gone);
	erase_names(doc["restore"][0], gone);
	if (doc.contains("faults")) {
		json kept = json::array();
		for (auto f : doc["faults"]) {
			bool refers = false;
			for (const char *k : {"object", "token_of"})
				refers |= f.contains(k) && gone.count(f[k].get<std::string>());
			for (const char *k : {"withhold", "objects"})
				if (f.contains(k)) {
					erase_names(f[k], gone);
					refers |= f[k].empty();
				}
			if (f.contains("session") && doc.contains("sessions") &&
			    !doc["sessions"].contains(f["session"].get<std::string>()))
				refers = true;
			if (!refers)
				kept.push_back(f);
		}
		doc["faults"] = kept;
		if (kept.empty())
			doc.erase("faults");
	}
	return true;
}

std::string joined(const std::set<std::string> &names, const std::string &first)
{
	std::string rest;
	for (const auto &n : names)
		if (n != first)
			rest += (rest.empty() ? "" : ", ") + n;
	return rest.empty() ? "" : " (and " + rest + ")";
}

} // namespace

std::optional<CaseOrders> parse_case_id(const std::string &id)
{
	auto p = id.find("/p:");
	auto r = id.find("/r:", p == std::string::npos ? 0 : p);
	if (p == std::string::npos || r == std::string::npos || p == 0)
		return std::nullopt;
	CaseOrders o;
	o.scenario = id.substr(0, p);
	o.preserve = split_commas(id.substr(p + 3, r - p - 3));
	std::string rest = id.substr(r + 3);
	if (rest != "-")
		o.restore = split_commas(rest);
	return o;
}

json single_case(const json &scenario, const CaseOrders &orders)
{
	json doc = scenario;
	doc.erase("$schema");
	doc.erase("expect");
	doc.erase("needs");
	doc["preserve"] = json::array({orders.preserve});
	doc["restore"] = json::array({orders.restore});
	return doc;
}

std::vector<Shrink> shrink_candidates(const json &doc)
{
	std::vector<Shrink> out;
	auto sc = core::parse_scenario(doc.dump(), "the case being minimised");
	for (const auto &[name, decl] : doc["objects"].items()) {
		auto gone = with_dependents(sc, name);
		json d = doc;
		if (drop_objects(d, gone))
			out.push_back({"drop object " + name + joined(gone, name), d});
	}
	if (doc.contains("sessions") && doc["sessions"].size() > 1)
		for (const auto &[s, members] : doc["sessions"].items()) {
			std::set<std::string> gone;
			for (const auto &m : members) {
				auto more = with_dependents(sc, m.get<std::string>());
				gone.insert(more.begin(), more.end());
			}
			json d = doc;
			if (drop_objects(d, gone))
				out.push_back({"drop session " + s + " and its objects", d});
		}
	if (doc.contains("faults"))
		for (size_t i = 0; i < doc["faults"].size(); i++) {
			json d = doc;
			d["faults"].erase(i);
			if (d["faults"].empty())
				d.erase("faults");
			out.push_back({"drop fault " + doc["faults"][i].value("action", "?"), d});
		}
	const json &restore = doc["restore"][0];
	for (size_t i = 0; i < restore.size(); i++) {
		json d = doc;
		d["restore"][0].erase(i);
		out.push_back({"drop the restore of " + restore[i].get<std::string>(), d});
	}
	if (doc.contains("finish")) {
		json d = doc;
		d.erase("finish");
		out.push_back({"FINISH at the end only", d});
		const json &f = doc["finish"];
		const json &at = f.is_object() ? f.value("at", json()) : f;
		if (at.is_array() && at.size() > 1)
			for (size_t i = 0; i < at.size(); i++) {
				json e = doc;
				json &eat = e["finish"].is_object() ? e["finish"]["at"] : e["finish"];
				eat.erase(i);
				out.push_back({"drop the FINISH after retrieve " + at[i].dump(), e});
			}
	}
	return out;
}

} // namespace luo::host
