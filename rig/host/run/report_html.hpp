// SPDX-License-Identifier: GPL-2.0-only
//
// report.html: one self-contained page per run (or per merge of shards),
// readable offline and attachable as a CI artifact.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace luo::host {

struct HtmlOptions {
	// A failing case's VM console tail is what a reader wants next to the
	// steps; it is read from vm_dir when that still exists (a merge on
	// another machine simply goes without).
	int console_lines = 40;
};

// Renders the results.json document (summary, cases, optional baseline).
// Built from the JSON rather than from CaseResult so `luo-rig merge` can
// render shards it only has as files.
std::string html_report(const nlohmann::json &results, const HtmlOptions &opt = {});

// Escapes text for HTML element content and quoted attribute values.
std::string html_escape(const std::string &s);

} // namespace luo::host
