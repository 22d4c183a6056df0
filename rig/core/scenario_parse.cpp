// SPDX-License-Identifier: GPL-2.0-only
//
// Scenario text -> Scenario.  Key order is significant (objects and sessions
// are created in declaration order, sessions freeze in that order), hence
// nlohmann::ordered_json.
#include "scenario.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/json_input.hpp"

namespace luo::core {

using json = nlohmann::ordered_json;
using protocol::ObjectKind;

namespace {

std::string describe(const json &j)
{
	std::string d = j.dump();
	if (d.size() > 40)
		d = d.substr(0, 37) + "...";
	return d;
}

// Small tokens read best in decimal, the big ones people pick on purpose
// (all ones, a high bit) in hex.
std::string token_text(std::uint64_t t)
{
	if (t < 65536)
		return std::to_string(t);
	char buf[24];
	std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(t));
	return buf;
}

// The parser proper: walks the json, keeps the pointer of every value it
// looks at so each complaint lands on the right line.
class Parser {
public:
	Parser(Scenario &sc) : sc_(sc) {}

	void top(const json &j);

private:
	Scenario &sc_;

	[[noreturn]] void fail(const std::string &ptr, const std::string &msg) { sc_.fail(ptr, msg); }

	void fields(const json &j, const std::string &ptr, const std::vector<std::string> &known)
	{
		for (const auto &[k, v] : j.items())
			if (std::find(known.begin(), known.end(), k) == known.end())
				sc_.fail(ptr + "/" + pointer_escape(k),
					 "unknown field '" + k + "'; fields here are: " + join(known), true);
	}

	const std::string &str(const json &j, const std::string &ptr, const char *what)
	{
		if (!j.is_string())
			fail(ptr, std::string("expected ") + what + ", got " + describe(j));
		return j.get_ref<const std::string &>();
	}

	std::string name(const json &j, const std::string &ptr, const char *what)
	{
		std::string s = str(j, ptr, what);
		if (!valid_name(s))
			fail(ptr, std::string("bad ") + what + " '" + s +
				  "'; use 1-48 characters from a-z 0-9 - _ .");
		return s;
	}

	std::string object_ref(const json &j, const std::string &ptr)
	{
		const std::string &s = str(j, ptr, "an object name");
		if (!sc_.object(s))
			fail(ptr, "unknown object '" + s + "'; objects are: " +
				  join(sc_.object_names(true)));
		return s;
	}

	std::string session_ref(const json &j, const std::string &ptr)
	{
		const std::string &s = str(j, ptr, "a session name");
		std::vector<std::string> names;
		for (const auto &d : sc_.sessions)
			if (d.name == s)
				return s;
			else
				names.push_back(d.name);
		fail(ptr, "unknown session '" + s + "'; sessions are: " + join(names));
	}

	std::uint64_t uint(const json &j, const std::string &ptr, const char *what)
	{
		if (!j.is_number_unsigned())
			fail(ptr, std::string("expected ") + what + " (a non-negative integer), got " +
				  describe(j));
		return j.get<std::uint64_t>();
	}

	std::uint64_t token(const json &j, const std::string &ptr);
	void objects(const json &j, const std::string &ptr);
	void tokens();
	void closed_objects();
	void object(const std::string &name, const json &j, const std::string &ptr);
	void dependencies();
	void also_mapped(const ObjectDecl &d, std::size_t index, const std::string &name,
			 const std::vector<std::string> &memfds);
	void sessions(const json *j, const std::string &ptr);
	OrderSpec order(const json &j, const std::string &ptr, bool restore);
	std::vector<std::string> one_order(const json &j, const std::string &ptr, bool restore);
	void finish(const json &j, const std::string &ptr);
	unsigned position(const json &j, const std::string &ptr);
	void fault(const json &j, const std::string &ptr);
	void expectation(const json &j, const std::string &ptr);
};

void Parser::top(const json &j)
{
	if (!j.is_object())
		fail("", "a scenario is a JSON object; see scenarios/README.md");
	fields(j, "", {"$schema", "name", "description", "needs", "objects", "sessions", "preserve",
		       "restore", "finish", "faults", "expect"});
	if (j.contains("name"))
		sc_.name = name(j["name"], "/name", "scenario name");
	if (j.contains("description"))
		sc_.description = str(j["description"], "/description", "a string");
	if (!j.contains("objects"))
		fail("", "missing field 'objects', e.g. \"objects\": {\"mem\": \"memfd\"}");
	objects(j["objects"], "/objects");
	sessions(j.contains("sessions") ? &j["sessions"] : nullptr, "/sessions");
	tokens();
	sc_.preserve = j.contains("preserve") ? order(j["preserve"], "/preserve", false) : OrderSpec{};
	sc_.restore = j.contains("restore") ? order(j["restore"], "/restore", true) : OrderSpec{};
	if (j.contains("finish"))
		finish(j["finish"], "/finish");
	if (j.contains("faults")) {
		const json &f = j["faults"];
		if (!f.is_array())
			fail("/faults", "expected an array of fault actions, e.g. [{\"action\": \"retrieve-twice\"}]");
		for (std::size_t i = 0; i < f.size(); i++)
			fault(f[i], "/faults/" + std::to_string(i));
		closed_objects();
	}

	for (const auto &o : sc_.objects)
		sc_.vfio_devices += o.kind == ObjectKind::vfio_cdev;
	if (j.contains("needs")) {
		const json &n = j["needs"];
		if (!n.is_object())
			fail("/needs", "expected an object, e.g. {\"vfio_devices\": 1}");
		fields(n, "/needs", {"vfio_devices"});
		if (n.contains("vfio_devices") &&
		    uint(n["vfio_devices"], "/needs/vfio_devices", "a device count") !=
			    static_cast<std::uint64_t>(sc_.vfio_devices))
			fail("/needs/vfio_devices", "the scenario has " + std::to_string(sc_.vfio_devices) +
							    " vfio-cdev object(s); write " +
							    std::to_string(sc_.vfio_devices));
	}

	if (j.contains("expect")) {
		const json &e = j["expect"];
		if (!e.is_array())
			fail("/expect", "expected an array, e.g. [{\"step\": \"finish s\", \"result\": \"ok\"}]");
		for (std::size_t i = 0; i < e.size(); i++)
			expectation(e[i], "/expect/" + std::to_string(i));
	}
}

void Parser::objects(const json &j, const std::string &ptr)
{
	if (!j.is_object() || j.empty())
		fail(ptr, "expected an object of named objects, e.g. {\"vm\": \"kvm-vm\", \"gmem\": \"guest-memfd\"}");
	for (const auto &[k, v] : j.items()) {
		std::string p = ptr + "/" + pointer_escape(k);
		if (!valid_name(k))
			sc_.fail(p, "bad object name '" + k + "'; use 1-48 characters from a-z 0-9 - _ .", true);
		object(k, v, p);
	}
	dependencies();
}

void Parser::object(const std::string &name, const json &j, const std::string &ptr)
{
	static const std::vector<std::string> kinds{"memfd", "kvm-vm", "guest-memfd",
						    "iommufd", "vfio-cdev", "unsupported"};
	ObjectDecl d;
	d.name = name;
	const json *kind = &j;
	std::string kptr = ptr;
	if (j.is_object()) {
		fields(j, ptr, {"kind", "depends_on", "size", "pinned", "token", "ioas"});
		if (!j.contains("kind"))
			fail(ptr, "missing field 'kind'; kinds are: " + join(kinds));
		kind = &j["kind"];
		kptr = ptr + "/kind";
	} else if (!j.is_string()) {
		fail(ptr, "expected a kind (\"memfd\") or an object ({\"kind\": \"memfd\", \"size\": 65536})");
	}
	auto k = protocol::object_kind_from(str(*kind, kptr, "an object kind"));
	if (!k)
		fail(kptr, "unknown kind '" + kind->get<std::string>() + "'; kinds are: " + join(kinds));
	d.kind = *k;
	if (j.is_object()) {
		if (j.contains("depends_on") && j["depends_on"].is_array() &&
		    d.kind == ObjectKind::iommufd) {
			// An iommufd that maps several memfds names them all.
			const json &a = j["depends_on"];
			if (a.empty() || a.size() > protocol::kMaxMappedMemfds)
				fail(ptr + "/depends_on", "an iommufd maps 1 to " +
								  std::to_string(protocol::kMaxMappedMemfds) +
								  " memfds, e.g. [\"mem\", \"mem2\"]");
			for (std::size_t i = 0; i < a.size(); i++) {
				std::string at = ptr + "/depends_on/" + std::to_string(i);
				std::string name = str(a[i], at, "a memfd object's name");
				if (name == d.depends_on ||
				    std::find(d.also_maps.begin(), d.also_maps.end(), name) != d.also_maps.end())
					fail(at, "'" + name + "' is named twice; an iommufd maps each memfd once");
				(i ? d.also_maps.push_back(name) : void(d.depends_on = name));
			}
		} else if (j.contains("depends_on")) {
			d.depends_on = str(j["depends_on"], ptr + "/depends_on",
					   d.kind == ObjectKind::iommufd ? "a memfd object's name, or a list of them"
									 : "an object name");
		}
		if (j.contains("size")) {
			if (d.kind != ObjectKind::memfd && d.kind != ObjectKind::guest_memfd)
				fail(ptr + "/size", "only memfd and guest-memfd objects have a size");
			d.size = uint(j["size"], ptr + "/size", "a size in bytes");
			if (d.size == 0 || d.size % 4096)
				fail(ptr + "/size", "size must be a non-zero multiple of 4096 (pages), e.g. 65536");
			// A hole, a page written before PRESERVE_FD and one after
			// (rig/guest/gmem_layout.hpp).
			if (d.kind == ObjectKind::guest_memfd && d.size < 3 * 4096)
				fail(ptr + "/size", "a guest-memfd needs at least 12288 bytes (3 pages: a "
						    "hole, a page written before PRESERVE_FD and one after)");
		}
		if (j.contains("ioas")) {
			if (d.kind != ObjectKind::iommufd)
				fail(ptr + "/ioas", "only iommufd objects have IOAS");
			auto n = uint(j["ioas"], ptr + "/ioas", "a number of IOAS");
			if (n < 1 || n > protocol::kMaxIoas)
				fail(ptr + "/ioas", "an iommufd has 1 to " + std::to_string(protocol::kMaxIoas) +
						    " IOAS, e.g. 3");
			d.ioas = static_cast<std::uint32_t>(n);
		}
		if (j.contains("pinned")) {
			if (!j["pinned"].is_boolean())
				fail(ptr + "/pinned", "expected true or false");
			d.pinned = j["pinned"].get<bool>();
		}
		if (j.contains("token")) {
			d.token = token(j["token"], ptr + "/token");
			d.token_set = true;
		}
	}
	if (!d.size)
		d.size = d.kind == ObjectKind::memfd ? 65536 : d.kind == ObjectKind::guest_memfd ? 2097152 : 0;
	if (!d.token_set)
		d.token = sc_.objects.size() + 1;
	sc_.objects.push_back(std::move(d));
}

// Any u64 is a token to LUO, 0 included (luo_file.c:230-239 only checks
// that it is unused in the session).  JSON numbers past 2^53 do not survive
// every JSON tool, so a string, "0x..." or decimal, is accepted as well.
std::uint64_t Parser::token(const json &j, const std::string &ptr)
{
	if (j.is_number_unsigned())
		return j.get<std::uint64_t>();
	if (j.is_string()) {
		const std::string &s = j.get_ref<const std::string &>();
		bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
		std::string digits = hex ? s.substr(2) : s;
		if (!digits.empty() &&
		    digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") == std::string::npos) {
			errno = 0;
			unsigned long long v = std::strtoull(digits.c_str(), nullptr, hex ? 16 : 10);
			if (errno != ERANGE)
				return v;
			fail(ptr, "token '" + s + "' does not fit in 64 bits; the largest is \"0xffffffffffffffff\"");
		}
	}
	fail(ptr, "expected a token, a 64-bit unsigned integer: a number (7) or a string "
		  "(\"0xfffffffffffffff5\", \"18446744073709551605\"), got " + describe(j));
}

// LUO refuses a token already used in the session (EEXIST, C7): that is
// the reuse-token fault's job, never an accident of the file.
void Parser::tokens()
{
	std::map<std::pair<std::string, std::uint64_t>, const ObjectDecl *> seen;
	for (const auto &d : sc_.objects) {
		const std::string &s = sc_.session_of(d.name);
		auto [it, fresh] = seen.emplace(std::make_pair(s, d.token), &d);
		if (fresh)
			continue;
		const ObjectDecl &first = *it->second;
		auto why = [](const ObjectDecl &o) {
			return o.token_set ? std::string() : " ('" + o.name + "' takes its position by default)";
		};
		std::string ptr = "/objects/" + pointer_escape(d.name);
		fail(d.token_set ? ptr + "/token" : ptr,
		     "token " + token_text(d.token) + " of '" + d.name + "' is also the token of '" + first.name +
			     "' in session '" + s + "'" + why(d) + why(first) +
			     "; tokens are unique per session, give one of them another \"token\"");
	}
}

// The further memfd `name`, at `index` of an iommufd's depends_on list: a
// memfd like the first, pinned alike, and small enough for its IOVA slot;
// the first then is too.
void Parser::also_mapped(const ObjectDecl &d, std::size_t index, const std::string &name,
			 const std::vector<std::string> &memfds)
{
	std::string ptr = "/objects/" + pointer_escape(d.name) + "/depends_on/" + std::to_string(index);
	if (std::find(memfds.begin(), memfds.end(), name) == memfds.end())
		fail(ptr, "'" + name + "' is not a memfd object; memfd objects are: " + join(memfds));
	if (d.pinned != sc_.object(name)->pinned)
		fail(ptr, "an object and its dependencies must all be pinned or all not");
	for (const std::string &m : {d.depends_on, name})
		if (sc_.object(m)->size > protocol::kMaxLayeredMemfd)
			fail(ptr, "an iommufd that maps several memfds maps each of at most " +
					  std::to_string(protocol::kMaxLayeredMemfd) + " bytes; '" + m +
					  "' has " + std::to_string(sc_.object(m)->size));
}

void Parser::dependencies()
{
	for (auto &d : sc_.objects) {
		std::string ptr = "/objects/" + pointer_escape(d.name);
		ObjectKind need;
		if (d.kind == ObjectKind::guest_memfd)
			need = ObjectKind::kvm_vm;
		else if (d.kind == ObjectKind::vfio_cdev)
			need = ObjectKind::iommufd;
		else if (d.kind == ObjectKind::iommufd && !d.depends_on.empty())
			need = ObjectKind::memfd;  // the memfd mapped into its IOAS, if any
		else {
			if (!d.depends_on.empty())
				fail(ptr + "/depends_on", std::string("a ") + protocol::to_string(d.kind) +
								  " has no dependency; remove depends_on");
			continue;
		}
		std::vector<std::string> candidates;
		for (const auto &o : sc_.objects)
			if (o.kind == need)
				candidates.push_back(o.name);
		std::string kind = protocol::to_string(need);
		if (d.depends_on.empty()) {
			if (candidates.size() != 1)
				fail(ptr, "a " + std::string(protocol::to_string(d.kind)) +
						  " depends on a " + kind + "; " +
						  (candidates.empty() ? "declare one"
								      : "name it with \"depends_on\": one of " +
									       join(candidates)));
			d.depends_on = candidates[0];
		} else if (std::find(candidates.begin(), candidates.end(), d.depends_on) ==
			   candidates.end()) {
			fail(ptr + "/depends_on", "'" + d.depends_on + "' is not a " + kind + " object; " +
							  (candidates.empty() ? "declare one"
									      : kind + " objects are: " +
										       join(candidates)));
		}
		if (d.pinned != sc_.object(d.depends_on)->pinned)
			fail(ptr + "/pinned", "an object and its dependency must both be pinned or both not");
		if (d.kind == ObjectKind::iommufd && d.ioas > 1 &&
		    sc_.object(d.depends_on)->size > protocol::kMaxLayeredMemfd)
			fail(ptr + "/ioas", "an iommufd with several IOAS maps a memfd of at most " +
						    std::to_string(protocol::kMaxLayeredMemfd) + " bytes; '" +
						    d.depends_on + "' has " +
						    std::to_string(sc_.object(d.depends_on)->size));
		for (std::size_t i = 0; i < d.also_maps.size(); i++)
			also_mapped(d, i + 1, d.also_maps[i], candidates);
	}
}

void Parser::sessions(const json *j, const std::string &ptr)
{
	if (!j) {
		sc_.sessions.push_back({"s", sc_.object_names(true)});
		return;
	}
	if (!j->is_object() || j->empty())
		fail(ptr, "expected an object of sessions, e.g. {\"s1\": [\"vm\", \"gmem\"]}");
	std::map<std::string, std::string> seen;  // object -> session
	for (const auto &[k, v] : j->items()) {
		std::string p = ptr + "/" + pointer_escape(k);
		if (!valid_name(k))
			sc_.fail(p, "bad session name '" + k + "'; use 1-48 characters from a-z 0-9 - _ .", true);
		if (!v.is_array())
			fail(p, "expected an array of object names, e.g. [\"vm\", \"gmem\"]");
		SessionDecl s{k, {}};
		for (std::size_t i = 0; i < v.size(); i++) {
			std::string op = p + "/" + std::to_string(i);
			std::string o = object_ref(v[i], op);
			if (seen.count(o))
				fail(op, "object '" + o + "' is already in session '" + seen[o] +
						 "'; an object belongs to one session (preserve-twice tests the rest)");
			seen[o] = k;
			s.objects.push_back(o);
		}
		sc_.sessions.push_back(std::move(s));
	}
	std::vector<std::string> orphans;
	for (const auto &o : sc_.objects)
		if (!seen.count(o.name))
			orphans.push_back(o.name);
	if (!orphans.empty())
		fail(ptr, "object(s) " + join(orphans) + " are in no session; add them to one");
}

std::vector<std::string> Parser::one_order(const json &j, const std::string &ptr, bool restore)
{
	auto names = sc_.object_names(false);
	if (!j.is_array())
		fail(ptr, "expected an array of object names, e.g. " +
				  json(names).dump());
	std::vector<std::string> out;
	for (std::size_t i = 0; i < j.size(); i++) {
		std::string p = ptr + "/" + std::to_string(i);
		std::string o = object_ref(j[i], p);
		if (sc_.object(o)->pinned)
			fail(p, "'" + o + "' is pinned: it is always preserved first and retrieved last; "
					  "leave it out of orders");
		if (std::find(out.begin(), out.end(), o) != out.end())
			fail(p, "'" + o + "' appears twice; use the retrieve-twice fault to retrieve twice");
		out.push_back(o);
	}
	if (!restore && out.size() != names.size()) {
		std::vector<std::string> missing;
		for (const auto &n : names)
			if (std::find(out.begin(), out.end(), n) == out.end())
				missing.push_back(n);
		fail(ptr, "a preserve order lists every object that is not pinned; missing: " +
				  join(missing) + " (use the retry-kexec fault to withhold one)");
	}
	return out;
}

OrderSpec Parser::order(const json &j, const std::string &ptr, bool restore)
{
	const char *modes = restore ? "\"all\", \"all-orders\", \"declared\"" : "\"all\", \"declared\"";
	OrderSpec o;
	if (j.is_string()) {
		const std::string &s = j.get_ref<const std::string &>();
		if (s == "all")
			o.mode = OrderSpec::Mode::all;
		else if (s == "declared")
			o.mode = OrderSpec::Mode::declared;
		else if (restore && s == "all-orders")
			o.mode = OrderSpec::Mode::all_orders;
		else
			fail(ptr, "unknown order '" + s + "'; use " + modes +
					  ", a list of orders, or {\"random\": N, \"seed\": S}");
		return o;
	}
	const json *lists = &j;
	std::string lptr = ptr;
	if (j.is_object()) {
		if (j.contains("orders")) {
			fields(j, ptr, {"orders"});
			lists = &j["orders"];
			lptr = ptr + "/orders";
		} else {
			fields(j, ptr, {"random", "seed"});
			if (!j.contains("random") || !j.contains("seed"))
				fail(ptr, "a random choice needs both, e.g. {\"random\": 10, \"seed\": 1}");
			o.mode = OrderSpec::Mode::random;
			o.count = static_cast<unsigned>(uint(j["random"], ptr + "/random", "a case count"));
			o.seed = uint(j["seed"], ptr + "/seed", "a seed");
			if (o.count == 0)
				fail(ptr + "/random", "ask for at least one order");
			return o;
		}
	}
	if (!lists->is_array() || lists->empty())
		fail(lptr, std::string("expected ") + modes + ", a non-empty list of orders, or "
							 "{\"random\": N, \"seed\": S}");
	o.mode = OrderSpec::Mode::list;
	for (std::size_t i = 0; i < lists->size(); i++) {
		std::string p = lptr + "/" + std::to_string(i);
		auto one = one_order((*lists)[i], p, restore);
		auto dup = std::find(o.lists.begin(), o.lists.end(), one);
		if (dup != o.lists.end())
			fail(p, "this order is already listed at " + lptr + "/" +
					std::to_string(dup - o.lists.begin()) + "; case ids would collide");
		o.lists.push_back(std::move(one));
	}
	return o;
}

void Parser::finish(const json &j, const std::string &ptr)
{
	FinishSpec &f = sc_.finish;
	const json *at = &j;
	std::string aptr = ptr;
	if (j.is_object()) {
		fields(j, ptr, {"at", "on_busy"});
		if (j.contains("on_busy")) {
			const char *choices = "\"retrieve-missing\", \"leave\" or \"reopen\"";
			const std::string &b = str(j["on_busy"], ptr + "/on_busy", choices);
			if (b == "leave")
				f.on_busy = FinishSpec::OnBusy::leave;
			else if (b == "reopen")
				f.on_busy = FinishSpec::OnBusy::reopen;
			else if (b != "retrieve-missing")
				fail(ptr + "/on_busy", "unknown on_busy '" + b + "'; use " + choices);
		}
		if (!j.contains("at"))
			return;
		at = &j["at"];
		aptr = ptr + "/at";
	}
	if (at->is_number_unsigned()) {
		f.at = FinishSpec::At::after;
		f.after = {position(*at, aptr)};
	} else if (at->is_array()) {
		if (at->empty())
			fail(aptr, "list at least one number of retrieves, e.g. [2, 3, 4]");
		f.at = FinishSpec::At::after;
		for (std::size_t i = 0; i < at->size(); i++) {
			std::string p = aptr + "/" + std::to_string(i);
			unsigned n = position((*at)[i], p);
			if (!f.after.empty() && n <= f.after.back())
				fail(p, std::to_string(n) + " comes after " + std::to_string(f.after.back()) +
						"; list each number of retrieves once, in increasing order");
			f.after.push_back(n);
		}
	} else if (at->is_string() && at->get<std::string>() == "end") {
		f.at = FinishSpec::At::end;
	} else if (at->is_string() && at->get<std::string>() == "never") {
		f.at = FinishSpec::At::never;
	} else {
		fail(aptr, "expected \"end\", \"never\", a number of retrieves (0 = before any) "
			   "or a list of them ([2, 3, 4])");
	}
}

unsigned Parser::position(const json &j, const std::string &ptr)
{
	if (!j.is_number_unsigned())
		fail(ptr, "expected a number of retrieves (0 = before any), got " + describe(j));
	auto n = j.get<std::uint64_t>();
	if (n > std::numeric_limits<unsigned>::max())
		fail(ptr, "no case retrieves " + std::to_string(n) +
				  " objects; use \"end\" for FINISH after the last retrieve");
	return static_cast<unsigned>(n);
}

void Parser::fault(const json &j, const std::string &ptr)
{
	static const std::vector<std::pair<std::string, Fault::Action>> actions{
		{"close-session", Fault::Action::close_session},
		{"retry-kexec", Fault::Action::retry_kexec},
		{"retrieve-twice", Fault::Action::retrieve_twice},
		{"kexec-again", Fault::Action::kexec_again},
		{"reuse-token", Fault::Action::reuse_token},
		{"preserve-twice", Fault::Action::preserve_twice},
		{"retrieve-unknown", Fault::Action::retrieve_unknown},
		{"retrieve-unwritable", Fault::Action::retrieve_unwritable},
		{"close-object", Fault::Action::close_object},
		{"verify-fresh", Fault::Action::verify_fresh},
		{"open-device", Fault::Action::open_device},
		{"move-device", Fault::Action::move_device},
	};
	auto names = [&] {
		std::vector<std::string> out;
		for (auto &p : actions)
			out.push_back(p.first);
		return join(out);
	};
	if (!j.is_object() || !j.contains("action"))
		fail(ptr, "expected {\"action\": ...}; actions are: " + names());
	const std::string &a = str(j["action"], ptr + "/action", "an action name");
	Fault f;
	f.pointer = ptr;
	auto it = std::find_if(actions.begin(), actions.end(), [&](auto &p) { return p.first == a; });
	if (it == actions.end())
		fail(ptr + "/action", "unknown action '" + a + "'; actions are: " + names());
	f.action = it->second;
	auto need = [&](const char *field) -> const json & {
		if (!j.contains(field))
			fail(ptr, "action '" + a + "' needs \"" + field + "\"");
		return j[field];
	};
	auto object_list = [&](const char *field) {
		const json &v = j[field];
		std::string p = ptr + "/" + field;
		if (!v.is_array() || v.empty())
			fail(p, "expected a non-empty array of object names");
		for (std::size_t i = 0; i < v.size(); i++)
			f.objects.push_back(object_ref(v[i], p + "/" + std::to_string(i)));
	};
	switch (f.action) {
	case Fault::Action::close_session:
		fields(j, ptr, {"action", "session"});
		f.session = session_ref(need("session"), ptr + "/session");
		break;
	case Fault::Action::retry_kexec:
		fields(j, ptr, {"action", "withhold"});
		need("withhold");
		object_list("withhold");
		for (std::size_t i = 0; i < f.objects.size(); i++)
			if (sc_.object(f.objects[i])->pinned)
				fail(ptr + "/withhold/" + std::to_string(i), "a pinned object cannot be withheld");
		break;
	case Fault::Action::retrieve_twice:
		fields(j, ptr, {"action", "objects"});
		if (j.contains("objects"))
			object_list("objects");
		break;
	case Fault::Action::kexec_again:
		fields(j, ptr, {"action"});
		break;
	case Fault::Action::reuse_token:
		fields(j, ptr, {"action", "object", "token_of"});
		f.object = object_ref(need("object"), ptr + "/object");
		f.token_of = object_ref(need("token_of"), ptr + "/token_of");
		if (f.object == f.token_of)
			fail(ptr + "/token_of", "name another object of the same session");
		if (sc_.session_of(f.object) != sc_.session_of(f.token_of))
			fail(ptr + "/token_of", "tokens are per session: '" + f.token_of + "' is in session '" +
							sc_.session_of(f.token_of) + "', '" + f.object +
							"' in '" + sc_.session_of(f.object) + "'");
		break;
	case Fault::Action::preserve_twice:
		fields(j, ptr, {"action", "object", "session"});
		f.object = object_ref(need("object"), ptr + "/object");
		f.session = j.contains("session") ? session_ref(j["session"], ptr + "/session")
						  : sc_.session_of(f.object);
		break;
	case Fault::Action::retrieve_unknown:
		fields(j, ptr, {"action", "session"});
		f.session = session_ref(need("session"), ptr + "/session");
		break;
	case Fault::Action::retrieve_unwritable:
	case Fault::Action::close_object:
		fields(j, ptr, {"action", "object"});
		f.object = object_ref(need("object"), ptr + "/object");
		break;
	case Fault::Action::verify_fresh: {
		fields(j, ptr, {"action", "object"});
		f.object = object_ref(need("object"), ptr + "/object");
		const ObjectDecl &o = *sc_.object(f.object);
		// An iommufd that maps nothing carries nothing the guest checks:
		// its restore shows only in the VFIO device bound to it.
		if (o.kind == ObjectKind::iommufd && o.depends_on.empty())
			fail(ptr + "/object", "iommufd '" + o.name + "' maps no memfd, so verify checks "
					      "nothing of its own and a new one would pass; give it "
					      "\"depends_on\": a memfd to map, or name a memfd, kvm-vm, "
					      "guest-memfd or vfio-cdev");
		if (o.kind == ObjectKind::unsupported)
			fail(ptr + "/object", "an unsupported object has no state that verify checks, so a "
					      "new one would pass; name a memfd, kvm-vm, guest-memfd, "
					      "vfio-cdev or an iommufd that maps a memfd");
		break;
	}
	case Fault::Action::open_device:
	case Fault::Action::move_device: {
		fields(j, ptr, {"action", "object"});
		f.object = object_ref(need("object"), ptr + "/object");
		// The VFIO cdev is the one kind with a node that names a device
		// and can be opened again (the others are made anew each time),
		// and the one attached to a page table of its iommufd.
		const char *lacks = f.action == Fault::Action::open_device ? "has no device node"
									   : "is attached to no page table";
		if (sc_.object(f.object)->kind != ObjectKind::vfio_cdev)
			fail(ptr + "/object", "'" + f.object + "' is a " +
						      protocol::to_string(sc_.object(f.object)->kind) +
						      ", which " + lacks + "; name a vfio-cdev");
		break;
	}
	}
	sc_.faults.push_back(std::move(f));
}

// After close-object the VMM has no fd for the object in the first
// kernel, so nothing may preserve it later: that would test the guest, not
// the kernel.
void Parser::closed_objects()
{
	const auto &fs = sc_.faults;
	for (std::size_t i = 0; i < fs.size(); i++) {
		if (fs[i].action != Fault::Action::close_object)
			continue;
		const std::string &o = fs[i].object;
		std::string ptr = fs[i].pointer + "/object";
		for (std::size_t k = 0; k < fs.size(); k++) {
			const Fault &g = fs[k];
			std::string at = g.pointer;
			if (g.action == Fault::Action::retry_kexec &&
			    std::find(g.objects.begin(), g.objects.end(), o) != g.objects.end())
				fail(ptr, "'" + o + "' is withheld by the retry-kexec at " + at +
						  ", so it is not preserved when the VMM closes it; close another object");
			if (k <= i)
				continue;
			if (g.action == Fault::Action::close_object && g.object == o)
				fail(g.pointer + "/object", "'" + o + "' is already closed by " + fs[i].pointer +
								    "; close it once");
			bool again = (g.action == Fault::Action::close_session && g.session == sc_.session_of(o)) ||
				     ((g.action == Fault::Action::reuse_token ||
				       g.action == Fault::Action::preserve_twice) && g.object == o);
			if (g.action == Fault::Action::move_device &&
			    sc_.object(g.object)->depends_on == o)
				fail(g.pointer + "/object", "'" + g.object + "' is bound to '" + o +
								    "', closed by " + fs[i].pointer +
								    " before this moves the device: the VMM "
								    "needs that iommufd for the new page "
								    "table; put the close-object after it");
			if (g.action == Fault::Action::move_device && g.object == o)
				fail(g.pointer + "/object", "'" + o + "' is closed by " + fs[i].pointer +
								    " before this moves it; put the close-object after it");
			if (again)
				fail(ptr, "the fault at " + at + " preserves '" + o +
						  "' again after this closes its fd; put the close-object after it");
		}
	}
}

void Parser::expectation(const json &j, const std::string &ptr)
{
	if (!j.is_object())
		fail(ptr, "expected {\"step\": \"finish s\", \"result\": \"ok\"}");
	fields(j, ptr, {"case", "contract", "step", "result"});
	ExplicitExpect e;
	e.pointer = ptr;
	if (j.contains("case")) {
		e.case_suffix = str(j["case"], ptr + "/case", "a case id without the scenario name");
		if (e.case_suffix == "*")
			e.case_suffix.clear();
		if (e.case_suffix.rfind(sc_.name + "/", 0) == 0)
			e.case_suffix = e.case_suffix.substr(sc_.name.size() + 1);
	}
	if (j.contains("contract")) {
		e.contract = str(j["contract"], ptr + "/contract", "a contract name");
		if (!valid_name(e.contract))
			fail(ptr + "/contract", "bad contract name '" + e.contract +
							"'; use a contract's name, e.g. agreed, strict, posted-2026");
	}
	if (!j.contains("step") || !j.contains("result"))
		fail(ptr, "an expectation needs \"step\" and \"result\"");
	e.step_text = str(j["step"], ptr + "/step", "a step such as \"retrieve gmem\" or \"kexec#2\"");
	std::string text = e.step_text;
	if (auto hash = text.find('#'); hash != std::string::npos) {
		std::string n = text.substr(hash + 1);
		if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos || std::stoul(n) == 0)
			fail(ptr + "/step", "after '#' put the occurrence, 1 for the first: \"kexec#2\"");
		e.nth = static_cast<unsigned>(std::stoul(n));
		text.erase(hash);
	}
	std::istringstream in(text);
	std::string op, target, extra;
	in >> op >> target >> extra;
	auto o = protocol::op_from(op);
	if (!o)
		fail(ptr + "/step", "unknown step '" + op + "'; steps are: " + join(protocol::op_names()));
	e.op = *o;
	e.target = target;
	bool on_session = *o == protocol::Op::session_create || *o == protocol::Op::session_close ||
			  *o == protocol::Op::session_retrieve || *o == protocol::Op::finish;
	if (*o == protocol::Op::kexec) {
		if (!target.empty())
			fail(ptr + "/step", "kexec takes no name; write \"kexec\" or \"kexec#2\"");
	} else if (target.empty() || !extra.empty()) {
		fail(ptr + "/step", "write \"" + op + " <" + (on_session ? "session" : "object") + ">\"");
	} else if (on_session) {
		session_ref(json(target), ptr + "/step");
	} else {
		object_ref(json(target), ptr + "/step");
	}
	const std::string &r = str(j["result"], ptr + "/result", "\"ok\", \"error\" or an errno name");
	if (r == "ok")
		e.expect.kind = Expect::Kind::ok;
	else if (r == "error")
		e.expect.kind = Expect::Kind::any_error;
	else if (protocol::errno_from_name(r) > 0 && r[0] == 'E')
		e.expect = {Expect::Kind::error, r, ""};
	else
		fail(ptr + "/result", "unknown result '" + r + "'; use \"ok\", \"error\" or an errno name like \"EBUSY\"");
	sc_.expects.push_back(std::move(e));
}

} // namespace

ScenarioError::ScenarioError(std::string file, Pos pos, std::string pointer, std::string message)
	: std::runtime_error(file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) +
			     ": at " + (pointer.empty() ? "/" : pointer) + ": " + message),
	  file_(std::move(file)), pos_(pos), pointer_(std::move(pointer)), message_(std::move(message))
{
}

void Scenario::fail(const std::string &pointer, const std::string &message, bool at_key) const
{
	throw ScenarioError(file, at_key ? positions.key(pointer) : positions.value(pointer), pointer,
			    message);
}

const ObjectDecl *Scenario::object(const std::string &n) const
{
	for (const auto &o : objects)
		if (o.name == n)
			return &o;
	return nullptr;
}

const std::string &Scenario::session_of(const std::string &object) const
{
	static const std::string none;
	for (const auto &s : sessions)
		if (std::find(s.objects.begin(), s.objects.end(), object) != s.objects.end())
			return s.name;
	return none;
}

std::vector<std::string> Scenario::object_names(bool include_pinned) const
{
	std::vector<std::string> out;
	for (const auto &o : objects)
		if (include_pinned || !o.pinned)
			out.push_back(o.name);
	return out;
}

Scenario parse_scenario(const std::string &text, const std::string &file)
{
	Scenario sc;
	sc.file = file;
	sc.name = input_stem(file);
	json j = parse_input(text, file);
	sc.positions = scan_positions(text);
	Parser(sc).top(j);
	return sc;
}

Scenario load_scenario(const std::string &path)
{
	return parse_scenario(read_input(path, "the file"), path);
}

} // namespace luo::core
