// SPDX-License-Identifier: GPL-2.0-only
#include "host/util/host.hpp"

#include <unistd.h>

namespace luo::host {

std::string local_hostname()
{
	char name[256] = "localhost";
	gethostname(name, sizeof(name) - 1);
	return name;
}

} // namespace luo::host
