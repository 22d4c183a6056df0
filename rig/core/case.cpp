// SPDX-License-Identifier: GPL-2.0-only
#include "case.hpp"

#include <algorithm>
#include <set>

namespace luo::core {

bool runs_probe(const CaseStep &s)
{
	return s.op == protocol::Op::preserve && s.expect.kind == Expect::Kind::ok &&
	       (s.expect.rule == "P7" || s.expect.rule == "P8");
}

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

bool Case::chainable() const
{
	using protocol::Op;
	if (boots() != 1 || refuses_kexec())
		return false;
	std::set<std::string> outgoing, finished;
	bool after = false;
	for (const auto &s : steps) {
		bool ok = s.expect.kind == Expect::Kind::ok;
		if (s.op == Op::kexec) {
			after = true;
		} else if (!after && s.op == Op::session_create && ok) {
			outgoing.insert(s.session);
		} else if (!after && s.op == Op::session_close && ok) {
			outgoing.erase(s.session);
		} else if (after && s.op == Op::finish && ok) {
			finished.insert(s.session);
		}
	}
	return std::includes(finished.begin(), finished.end(), outgoing.begin(), outgoing.end());
}

} // namespace luo::core
