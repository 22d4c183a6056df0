// SPDX-License-Identifier: GPL-2.0-only
//
// Shared by the tests of what reads results.json-shaped input (--baseline,
// merge): the message of the SetupError an input earns, and the luo-rig
// binary run as a developer would run it.
#pragma once

#include <string>
#include <vector>

#include <boost/process.hpp>

#include "host/util/errors.hpp"

namespace luo::test {

// What f() throws as a SetupError, or a marker no expected message contains.
template <typename F> std::string setup_error_of(F &&f)
{
	try {
		f();
	} catch (const host::SetupError &e) {
		return e.what();
	}
	return "(no SetupError)";
}

// Runs the freshly built luo-rig with args; its stderr goes to err.
inline int run_luo_rig(const std::vector<std::string> &args, std::string &err)
{
	namespace bp = boost::process;
	bp::ipstream e;
	bp::child c(std::string(LUO_RIG_BINARY_DIR) + "/luo-rig", bp::args(args),
		    bp::std_out > bp::null, bp::std_err > e, bp::std_in < bp::null);
	std::string l;
	while (std::getline(e, l))
		err += l + "\n";
	c.wait();
	return c.exit_code();
}

} // namespace luo::test
