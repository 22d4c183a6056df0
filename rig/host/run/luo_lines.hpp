// SPDX-License-Identifier: GPL-2.0-only
//
// What LUO itself said on the console about a case: a step that fails with
// a bare errno (EIO from open("/dev/liveupdate"), ENOENT from a session's
// retrieve) often has its reason only there ("No registered handler for
// compatible 'x'"), and a reader of the report should not have to dig.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace luo::host {

// LUO's own lines of a console ("luo: ...", prefixes stripped), in console
// order, each once: read once per VM, then asked about each case.
std::vector<std::string> luo_lines(const std::string &console);

// Of those, the lines that name one of `sessions` (kernel session names, as
// "[name]"), or that concern the whole incoming state of a boot and so
// every session in it; at most `max`.
std::vector<std::string> luo_lines_about(const std::vector<std::string> &lines,
					 const std::set<std::string> &sessions, std::size_t max = 5);

} // namespace luo::host
