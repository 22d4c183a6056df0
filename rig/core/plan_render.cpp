// SPDX-License-Identifier: GPL-2.0-only
#include "plan_render.hpp"

#include <algorithm>

namespace luo::core {

using nlohmann::json;
using protocol::Op;

std::string expect_text(const Expect &e)
{
	switch (e.kind) {
	case Expect::Kind::ok: return "ok";
	case Expect::Kind::error: return e.err;
	case Expect::Kind::any_error: return "error";
	}
	return "?";
}

std::string step_text(const CaseStep &s)
{
	std::string args;
	auto add = [&](const std::string &a) { args += (args.empty() ? "" : ",") + a; };
	if (!s.session.empty())
		add(s.session);
	if (!s.object.empty())
		add(s.object);
	else if (s.op == Op::retrieve)
		add("-");  // retrieve of an unknown token binds nothing
	if (protocol::has_token(s.op))
		add(std::to_string(s.token));
	std::string out = protocol::to_string(s.op);
	if (!args.empty())
		out += "(" + args + ")";
	return out + "=" + expect_text(s.expect) + ":" + s.expect.rule;
}

std::string render_plan_text(const std::vector<Case> &cases)
{
	std::string out;
	for (const auto &c : cases) {
		out += c.id;
		for (const auto &s : c.steps)
			out += " " + step_text(s);
		out += "\n";
	}
	return out;
}

json case_json(const Case &c)
{
	json objects = json::array();
	for (const auto &o : c.objects) {
		json jo{{"name", o.name}, {"kind", protocol::to_string(o.kind)}};
		if (!o.depends_on.empty())
			jo["depends_on"] = o.depends_on;
		if (!o.also_maps.empty())
			jo["also_maps"] = o.also_maps;
		if (o.size)
			jo["size"] = o.size;
		if (o.seed)
			jo["seed"] = o.seed;
		if (o.ioas != 1)
			jo["ioas"] = o.ioas;
		objects.push_back(std::move(jo));
	}
	json steps = json::array();
	for (const auto &s : c.steps) {
		json js{{"op", protocol::to_string(s.op)},
			{"expect", expect_text(s.expect)},
			{"rule", s.expect.rule}};
		if (!s.session.empty())
			js["session"] = s.session;
		if (!s.object.empty())
			js["object"] = s.object;
		if (protocol::has_token(s.op))
			js["token"] = s.token;
		steps.push_back(std::move(js));
	}
	return {{"id", c.id},
		{"scenario", c.scenario},
		{"contract", c.contract},
		{"boots", c.boots()},
		{"refuses_kexec", c.refuses_kexec()},
		{"vfio_devices", c.vfio_devices()},
		{"objects", std::move(objects)},
		{"steps", std::move(steps)}};
}

json plan_json(const std::vector<Case> &cases)
{
	json plan = json::array();
	int refusing = 0, vfio = 0;
	for (const auto &c : cases) {
		plan.push_back(case_json(c));
		refusing += c.refuses_kexec();
		vfio = std::max(vfio, c.vfio_devices());
	}
	return {{"cases", cases.size()},
		{"refusing_kexec", refusing},
		{"vfio_devices_max", vfio},
		{"plan", std::move(plan)}};
}

} // namespace luo::core
