// SPDX-License-Identifier: GPL-2.0-only
//
// This machine's name, as reports and the names of remote objects carry it.
#pragma once

#include <string>

namespace luo::host {

std::string local_hostname();

} // namespace luo::host
