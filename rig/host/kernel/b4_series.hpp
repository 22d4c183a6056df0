// SPDX-License-Identifier: GPL-2.0-only
//
// A posted series by its message-id: `b4 am` fetches it into the cache, and
// the mbox it writes goes the way of --mbox.
#pragma once

#include <filesystem>
#include <string>

namespace luo::host {

// The bare message-id of "<id@host>", "id@host" or an archive URL that names
// it in its path (percent-escapes decoded).  SetupError when none is found.
std::string normalise_msgid(const std::string &given);

// Runs `b4 am -o DIR MSGID` with DIR under `series_root` (emptied first, so
// nothing of an earlier fetch is taken for this one) and returns the mbox it
// wrote.  b4 missing, b4 failing, or no mbox written: SetupError saying how
// to get the series another way.
std::filesystem::path fetch_series(const std::string &msgid,
				   const std::filesystem::path &series_root);

} // namespace luo::host
