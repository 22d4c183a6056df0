// SPDX-License-Identifier: GPL-2.0-only
#include "protocol/selftests.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace luo::protocol {

using nlohmann::json;

std::string selftest_plan_to_json(const SelftestPlan &plan)
{
	json tests = json::array();
	for (const auto &t : plan.tests)
		tests.push_back({{"name", t.name}, {"two_stage", t.two_stage}, {"device", t.device}});
	return json{{"version", plan.version}, {"tests", std::move(tests)}, {"device", plan.device}}
		.dump(1);
}

SelftestPlan selftest_plan_from_json(const std::string &text)
{
	SelftestPlan plan;
	try {
		json j = json::parse(text);
		plan.version = j.at("version").get<int>();
		if (plan.version != kSelftestPlanVersion)
			throw std::runtime_error("version " + std::to_string(plan.version) +
						 ", this build understands " +
						 std::to_string(kSelftestPlanVersion));
		plan.device = j.value("device", std::string());
		for (const auto &jt : j.at("tests")) {
			SelftestSpec t;
			t.name = jt.at("name").get<std::string>();
			t.two_stage = jt.value("two_stage", false);
			t.device = jt.value("device", false);
			if (t.device && plan.device.empty())
				throw std::runtime_error("selftest '" + t.name + "' takes a device and "
							 "the plan names none");
			// The name becomes a path in the image.
			if (t.name.empty() || t.name.find('/') != std::string::npos)
				throw std::runtime_error("bad selftest name '" + t.name + "'");
			plan.tests.push_back(std::move(t));
		}
	} catch (const json::exception &e) {
		throw std::runtime_error(std::string("selftest plan: ") + e.what());
	} catch (const std::runtime_error &e) {
		throw std::runtime_error(std::string("selftest plan: ") + e.what());
	}
	return plan;
}

} // namespace luo::protocol
