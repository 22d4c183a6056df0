// SPDX-License-Identifier: GPL-2.0-only
#include "plan.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <set>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

namespace luo::protocol {

using nlohmann::json;

namespace {

constexpr std::array<std::pair<ObjectKind, const char *>, 6> kKinds{{
	{ObjectKind::memfd, "memfd"},
	{ObjectKind::kvm_vm, "kvm-vm"},
	{ObjectKind::guest_memfd, "guest-memfd"},
	{ObjectKind::iommufd, "iommufd"},
	{ObjectKind::vfio_cdev, "vfio-cdev"},
	{ObjectKind::unsupported, "unsupported"},
}};

constexpr std::array<std::pair<Op, const char *>, 19> kOps{{
	{Op::create, "create"},
	{Op::session_create, "session-create"},
	{Op::session_close, "session-close"},
	{Op::preserve, "preserve"},
	{Op::kexec, "kexec"},
	{Op::session_retrieve, "session-retrieve"},
	{Op::retrieve, "retrieve"},
	{Op::retrieve_unwritable, "retrieve-unwritable"},
	{Op::verify, "verify"},
	{Op::same_object, "same-object"},
	{Op::finish, "finish"},
	{Op::close_object, "close-object"},
	{Op::verify_fresh, "verify-fresh"},
	{Op::open_device, "open-device"},
	{Op::open_group, "open-group"},
	{Op::bind_device, "bind-device"},
	{Op::check_unbound, "check-unbound"},
	{Op::run_vcpu, "run-vcpu"},
	{Op::move_device, "move-device"},
}};

constexpr std::array<std::pair<EventType, const char *>, 9> kEventTypes{{
	{EventType::boot, "boot"},
	{EventType::step, "step"},
	{EventType::warning, "warning"},
	{EventType::fatal, "fatal"},
	{EventType::done, "done"},
	{EventType::selftest, "selftest"},
	{EventType::taint, "taint"},
	{EventType::kmemleak, "kmemleak"},
	{EventType::injected, "injected"},
}};

template <typename T, std::size_t N>
const char *name_in(const std::array<std::pair<T, const char *>, N> &table, T value)
{
	for (auto &[v, name] : table)
		if (v == value)
			return name;
	return "?";
}

template <typename T, std::size_t N>
std::optional<T> value_in(const std::array<std::pair<T, const char *>, N> &table, const std::string &s)
{
	for (auto &[v, name] : table)
		if (s == name)
			return v;
	return std::nullopt;
}

template <typename T>
T field(const json &j, const char *name, const char *where)
{
	auto it = j.find(name);
	if (it == j.end())
		throw std::runtime_error(std::string(where) + ": missing field '" + name + "'");
	try {
		return it->get<T>();
	} catch (const json::exception &e) {
		throw std::runtime_error(std::string(where) + ": field '" + name +
					 "' has the wrong type: " + e.what());
	}
}

template <typename T>
T field_or(const json &j, const char *name, T fallback)
{
	auto it = j.find(name);
	return it == j.end() ? fallback : it->get<T>();
}

Op op_field(const json &j, const char *where)
{
	auto name = field<std::string>(j, "op", where);
	auto op = op_from(name);
	if (!op)
		throw std::runtime_error(std::string(where) + ": unknown op '" + name + "'");
	return *op;
}

} // namespace

const char *to_string(ObjectKind k)
{
	return name_in(kKinds, k);
}

const char *to_string(Op op)
{
	return name_in(kOps, op);
}

std::vector<std::string> op_names()
{
	std::vector<std::string> out;
	for (auto &[o, name] : kOps)
		out.push_back(name);
	return out;
}

std::optional<ObjectKind> object_kind_from(const std::string &s)
{
	return value_in(kKinds, s);
}

std::optional<Op> op_from(const std::string &s)
{
	return value_in(kOps, s);
}

std::vector<std::string> dependencies(const ObjectSpec &o)
{
	std::vector<std::string> out;
	if (!o.depends_on.empty())
		out.push_back(o.depends_on);
	out.insert(out.end(), o.also_maps.begin(), o.also_maps.end());
	return out;
}

std::string plan_to_json(const Plan &plan, int indent)
{
	json objects = json::array();
	for (const auto &o : plan.objects) {
		json jo{{"name", o.name}, {"kind", to_string(o.kind)}};
		if (!o.depends_on.empty())
			jo["depends_on"] = o.depends_on;
		if (!o.also_maps.empty())
			jo["also_maps"] = o.also_maps;
		if (o.size)
			jo["size"] = o.size;
		if (o.seed)
			jo["seed"] = o.seed;
		if (o.device >= 0)
			jo["device"] = o.device;
		if (o.ioas != 1)
			jo["ioas"] = o.ioas;
		objects.push_back(std::move(jo));
	}
	json steps = json::array();
	for (const auto &s : plan.steps) {
		json js{{"id", s.id}, {"boot", s.boot}, {"op", to_string(s.op)}};
		if (!s.case_id.empty())
			js["case"] = s.case_id;
		if (!s.session.empty())
			js["session"] = s.session;
		if (!s.object.empty())
			js["object"] = s.object;
		if (has_token(s.op))
			js["token"] = s.token;
		if (s.thread)
			js["thread"] = s.thread;
		if (s.probe)
			js["probe"] = true;
		steps.push_back(std::move(js));
	}
	json j{{"version", plan.version},
	       {"run_id", plan.run_id},
	       {"edu_devices", plan.edu_devices},
	       {"objects", std::move(objects)},
	       {"steps", std::move(steps)}};
	if (plan.leak_scan)
		j["leak_scan"] = true;
	if (plan.fail_nth)
		j["fail_nth"] = true;
	if (plan.retrieve_copies)
		j["retrieve_copies"] = plan.retrieve_copies;
	if (plan.race)
		j["race"] = true;
	if (!plan.gmem_frozen_err.empty())
		j["gmem_frozen_err"] = plan.gmem_frozen_err;
	if (!plan.iommufd_seal_err.empty()) {
		j["iommufd_seal_err"] = plan.iommufd_seal_err;
		j["iommufd_immutable_err"] = plan.iommufd_immutable_err;
	}
	if (!plan.vfio_unmarked_err.empty())
		j["vfio_unmarked_err"] = plan.vfio_unmarked_err;
	return j.dump(indent);
}

Plan plan_from_json(const std::string &text)
{
	json j;
	try {
		j = json::parse(text);
	} catch (const json::parse_error &e) {
		throw std::runtime_error(std::string("plan: not JSON: ") + e.what());
	}
	Plan plan;
	plan.version = field<int>(j, "version", "plan");
	if (plan.version != kPlanVersion)
		throw std::runtime_error("plan: version " + std::to_string(plan.version) +
					 ", this build understands " +
					 std::to_string(kPlanVersion));
	plan.run_id = field_or<std::string>(j, "run_id", "");
	plan.edu_devices = field_or<std::vector<std::string>>(j, "edu_devices", {});
	plan.leak_scan = field_or<bool>(j, "leak_scan", false);
	plan.fail_nth = field_or<bool>(j, "fail_nth", false);
	plan.retrieve_copies = field_or<std::uint32_t>(j, "retrieve_copies", 0);
	if (plan.retrieve_copies && !plan.fail_nth)
		throw std::runtime_error("plan: retrieve_copies without fail_nth");
	if (plan.retrieve_copies > kMaxRetrieveCopies)
		throw std::runtime_error("plan: retrieve_copies " + std::to_string(plan.retrieve_copies) +
					 ", at most " + std::to_string(kMaxRetrieveCopies));
	plan.race = field_or<bool>(j, "race", false);
	plan.gmem_frozen_err = field_or<std::string>(j, "gmem_frozen_err", "");
	if (!plan.gmem_frozen_err.empty() && !errno_from_name(plan.gmem_frozen_err))
		throw std::runtime_error("plan: gmem_frozen_err '" + plan.gmem_frozen_err +
					 "' is not an errno name");
	plan.iommufd_seal_err = field_or<std::string>(j, "iommufd_seal_err", "");
	plan.iommufd_immutable_err = field_or<std::string>(j, "iommufd_immutable_err", "");
	for (const std::string *e : {&plan.iommufd_seal_err, &plan.iommufd_immutable_err})
		if (!e->empty() && !errno_from_name(*e))
			throw std::runtime_error("plan: iommufd errno '" + *e + "' is not an errno name");
	if (plan.iommufd_seal_err.empty() != plan.iommufd_immutable_err.empty())
		throw std::runtime_error("plan: iommufd_seal_err and iommufd_immutable_err come together");
	plan.vfio_unmarked_err = field_or<std::string>(j, "vfio_unmarked_err", "");
	if (!plan.vfio_unmarked_err.empty() && !errno_from_name(plan.vfio_unmarked_err))
		throw std::runtime_error("plan: vfio_unmarked_err '" + plan.vfio_unmarked_err +
					 "' is not an errno name");
	// Only a VMM that marks HWPTs has a marked one to move the device from.
	if (!plan.vfio_unmarked_err.empty() && plan.iommufd_seal_err.empty())
		throw std::runtime_error("plan: vfio_unmarked_err needs iommufd_seal_err (marked HWPTs)");
	for (const auto &jo : field<json>(j, "objects", "plan")) {
		ObjectSpec o;
		o.name = field<std::string>(jo, "name", "plan object");
		auto kind = field<std::string>(jo, "kind", "plan object");
		auto k = object_kind_from(kind);
		if (!k)
			throw std::runtime_error("plan object " + o.name + ": unknown kind '" +
						 kind + "'");
		o.kind = *k;
		o.depends_on = field_or<std::string>(jo, "depends_on", "");
		o.also_maps = field_or<std::vector<std::string>>(jo, "also_maps", {});
		if (o.also_maps.size() + 1 > kMaxMappedMemfds || (!o.also_maps.empty() && o.kind != ObjectKind::iommufd))
			throw std::runtime_error("plan object " + o.name + ": also_maps of " +
						 std::to_string(o.also_maps.size()) + " on a " + kind +
						 " (only an iommufd, at most " +
						 std::to_string(kMaxMappedMemfds) + " memfds in all)");
		o.size = field_or<std::uint64_t>(jo, "size", 0);
		o.seed = field_or<std::uint32_t>(jo, "seed", 0);
		o.device = field_or<int>(jo, "device", -1);
		o.ioas = field_or<std::uint32_t>(jo, "ioas", 1);
		plan.objects.push_back(std::move(o));
	}
	for (const auto &js : field<json>(j, "steps", "plan")) {
		Step s;
		s.id = field<std::uint32_t>(js, "id", "plan step");
		s.boot = field<std::uint32_t>(js, "boot", "plan step");
		s.op = op_field(js, "plan step");
		s.case_id = field_or<std::string>(js, "case", "");
		s.session = field_or<std::string>(js, "session", "");
		s.object = field_or<std::string>(js, "object", "");
		s.token = field_or<std::uint64_t>(js, "token", 0);
		s.thread = field_or<std::uint32_t>(js, "thread", 0);
		s.probe = field_or<bool>(js, "probe", false);
		if (s.probe && s.op != Op::preserve)
			throw std::runtime_error("plan step " + std::to_string(s.id) + ": \"probe\" on a " +
						 to_string(s.op) + " step; only a preserve has one");
		if (s.probe && plan.iommufd_seal_err.empty())
			throw std::runtime_error("plan step " + std::to_string(s.id) +
						 ": \"probe\" needs iommufd_seal_err (marked HWPTs)");
		plan.steps.push_back(std::move(s));
	}
	return plan;
}

Plan plan_for_boot(const Plan &plan, std::uint32_t boot)
{
	Plan out;
	out.version = plan.version;
	out.run_id = plan.run_id;
	out.edu_devices = plan.edu_devices;
	out.leak_scan = plan.leak_scan;
	out.fail_nth = plan.fail_nth;
	out.retrieve_copies = plan.retrieve_copies;
	out.race = plan.race;
	out.gmem_frozen_err = plan.gmem_frozen_err;
	out.iommufd_seal_err = plan.iommufd_seal_err;
	out.iommufd_immutable_err = plan.iommufd_immutable_err;
	out.vfio_unmarked_err = plan.vfio_unmarked_err;
	std::set<std::string> wanted;
	for (const auto &s : plan.steps) {
		if (s.boot != boot)
			continue;
		out.steps.push_back(s);
		if (!s.object.empty())
			wanted.insert(s.object);
	}
	// Dependencies are created and looked up through their dependents.
	for (bool grew = true; grew;) {
		grew = false;
		for (const auto &o : plan.objects)
			if (wanted.count(o.name))
				for (const auto &d : dependencies(o))
					grew |= wanted.insert(d).second;
	}
	for (const auto &o : plan.objects)
		if (wanted.count(o.name))
			out.objects.push_back(o);
	return out;
}

std::string plan_to_boot_lines(const Plan &plan)
{
	std::uint32_t last = 0;
	for (const auto &s : plan.steps)
		last = std::max(last, s.boot);
	std::string out;
	for (std::uint32_t b = 0; b <= last; b++)
		out += plan_to_json(plan_for_boot(plan, b), -1) + "\n";
	return out;
}

Plan plan_from_boot_lines(const std::string &text, std::uint32_t boot)
{
	size_t start = 0;
	for (std::uint32_t b = 0; b < boot; b++) {
		size_t nl = text.find('\n', start);
		if (nl == std::string::npos)
			throw std::runtime_error("plan: no line for boot " + std::to_string(boot) +
						 ", the plan has " + std::to_string(b + 1));
		start = nl + 1;
	}
	size_t end = text.find('\n', start);
	if (start >= text.size() || end == start)
		throw std::runtime_error("plan: no line for boot " + std::to_string(boot));
	return plan_from_json(text.substr(start, end == std::string::npos ? end : end - start));
}

const char *to_string(EventType t)
{
	return name_in(kEventTypes, t);
}

std::optional<EventType> event_type_from(const std::string &s)
{
	return value_in(kEventTypes, s);
}

std::string event_to_json(const Event &ev)
{
	json j{{"seq", ev.seq}, {"boot", ev.boot}, {"type", to_string(ev.type)}};
	if (ev.type == EventType::step) {
		j["step"] = ev.step;
		j["op"] = to_string(ev.op);
		j["result"] = ev.result;
		j["usec"] = ev.usec;
		if (!ev.case_id.empty())
			j["case"] = ev.case_id;
	}
	if (ev.type == EventType::selftest) {
		j["selftest"] = ev.selftest;
		j["stage"] = ev.stage;
		j["exit"] = ev.exit_code;
		j["signal"] = ev.signal;
		j["usec"] = ev.usec;
	}
	if (ev.type == EventType::taint)
		j["taint"] = ev.taint;
	if (ev.type == EventType::injected)
		j["step"] = ev.step;
	if (ev.injected)
		j["injected"] = ev.injected;
	if (ev.absorbed)
		j["absorbed"] = ev.absorbed;
	if (ev.points)
		j["points"] = ev.points;
	if (ev.untried)
		j["untried"] = ev.untried;
	if (!ev.inject_broke.empty())
		j["inject_broke"] = ev.inject_broke;
	if (!ev.kernel_report.empty())
		j["kernel_report"] = ev.kernel_report;
	if (ev.raced)
		j["raced"] = ev.raced;
	if (ev.raced_sessions)
		j["raced_sessions"] = ev.raced_sessions;
	if (ev.raced_refused)
		j["raced_refused"] = ev.raced_refused;
	if (ev.raced_carried)
		j["raced_carried"] = ev.raced_carried;
	if (ev.raced_devices)
		j["raced_devices"] = ev.raced_devices;
	if (ev.raced_waiting)
		j["raced_waiting"] = ev.raced_waiting;
	if (!ev.err.empty())
		j["err"] = ev.err;
	if (!ev.detail.empty())
		j["detail"] = ev.detail;
	return j.dump();
}

Event event_from_json(const std::string &line)
{
	json j;
	try {
		j = json::parse(line);
	} catch (const json::parse_error &e) {
		throw std::runtime_error(std::string("event: not JSON: ") + e.what());
	}
	Event ev;
	ev.seq = field<std::uint64_t>(j, "seq", "event");
	ev.boot = field<std::uint32_t>(j, "boot", "event");
	auto type = field<std::string>(j, "type", "event");
	auto t = event_type_from(type);
	if (!t)
		throw std::runtime_error("event: unknown type '" + type + "'");
	ev.type = *t;
	if (ev.type == EventType::step) {
		ev.step = field<std::uint32_t>(j, "step", "event");
		ev.op = op_field(j, "event");
		ev.result = field<int>(j, "result", "event");
		ev.usec = field_or<std::uint64_t>(j, "usec", 0);
		ev.case_id = field_or<std::string>(j, "case", "");
	}
	if (ev.type == EventType::selftest) {
		ev.selftest = field<std::string>(j, "selftest", "event");
		ev.stage = field<std::uint32_t>(j, "stage", "event");
		ev.exit_code = field<int>(j, "exit", "event");
		ev.signal = field_or<int>(j, "signal", 0);
		ev.usec = field_or<std::uint64_t>(j, "usec", 0);
	}
	if (ev.type == EventType::taint)
		ev.taint = field<std::uint64_t>(j, "taint", "event");
	if (ev.type == EventType::injected)
		ev.step = field<std::uint32_t>(j, "step", "event");
	ev.injected = field_or<std::uint32_t>(j, "injected", 0);
	ev.absorbed = field_or<std::uint32_t>(j, "absorbed", 0);
	ev.points = field_or<std::uint32_t>(j, "points", 0);
	ev.untried = field_or<std::uint32_t>(j, "untried", 0);
	ev.inject_broke = field_or<std::string>(j, "inject_broke", "");
	ev.kernel_report = field_or<std::string>(j, "kernel_report", "");
	ev.raced = field_or<std::uint32_t>(j, "raced", 0);
	ev.raced_sessions = field_or<std::uint32_t>(j, "raced_sessions", 0);
	ev.raced_refused = field_or<std::uint32_t>(j, "raced_refused", 0);
	ev.raced_carried = field_or<std::uint32_t>(j, "raced_carried", 0);
	ev.raced_devices = field_or<std::uint32_t>(j, "raced_devices", 0);
	ev.raced_waiting = field_or<std::uint32_t>(j, "raced_waiting", 0);
	ev.err = field_or<std::string>(j, "err", "");
	ev.detail = field_or<std::string>(j, "detail", "");
	return ev;
}

std::string errno_name(int err)
{
	if (err < 0)
		err = -err;
	if (err == 0)
		return "";
	if (const char *name = strerrorname_np(err))
		return name;
	return "E" + std::to_string(err);
}

int errno_from_name(const std::string &name)
{
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);
		if (n && name == n)
			return e;
	}
	if (name.size() > 1 && name[0] == 'E' && name.find_first_not_of("0123456789", 1) ==
							  std::string::npos)
		return std::stoi(name.substr(1));
	return 0;
}

const ObjectSpec *find_object(const Plan &plan, const std::string &name)
{
	for (const auto &o : plan.objects)
		if (o.name == name)
			return &o;
	return nullptr;
}

} // namespace luo::protocol
