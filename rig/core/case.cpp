// SPDX-License-Identifier: GPL-2.0-only
#include "case.hpp"

#include <algorithm>

namespace luo::core {

int Case::boots() const
{
	return static_cast<int>(std::count_if(steps.begin(), steps.end(), [](const CaseStep &s) {
		return s.op == protocol::Op::kexec && s.expect.kind == Expect::Kind::ok;
	}));
}

bool Case::refuses_kexec() const
{
	return std::any_of(steps.begin(), steps.end(), [](const CaseStep &s) {
		return s.op == protocol::Op::kexec && s.expect.kind != Expect::Kind::ok;
	});
}

int Case::vfio_devices() const
{
	return static_cast<int>(std::count_if(objects.begin(), objects.end(), [](const CaseObject &o) {
		return o.kind == protocol::ObjectKind::vfio_cdev;
	}));
}

} // namespace luo::core
