// SPDX-License-Identifier: GPL-2.0-only
#include "contract.hpp"

namespace luo::core {

using protocol::ObjectKind;

std::vector<Edge> dependency_edges()
{
	return {{ObjectKind::guest_memfd, ObjectKind::kvm_vm},
		{ObjectKind::vfio_cdev, ObjectKind::iommufd},
		{ObjectKind::iommufd, ObjectKind::memfd}};
}

std::string edge_name(const Edge &e)
{
	return std::string(protocol::to_string(e.first)) + "->" + protocol::to_string(e.second);
}

const EdgeRules &Contract::edge(ObjectKind dependent, ObjectKind dependency) const
{
	auto it = edges.find({dependent, dependency});
	return it == edges.end() ? rules : it->second;
}

Contract Contract::agreed()
{
	Contract c;
	c.name = "agreed";
	return c;
}

} // namespace luo::core
