// SPDX-License-Identifier: GPL-2.0-only
//
// Line and column of every value in a JSON text, by JSON pointer.
//
// nlohmann 3.11 reports byte offsets for syntax errors only; its SAX events
// carry no positions.  Semantic errors in a scenario ("unknown object 'vmm'")
// must still point the kernel developer at the right line, so this small
// scanner walks the (already validated) text once and records where each
// value and each object key starts.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace luo::core {

struct Pos {
	int line = 0;    // 1-based; 0 = unknown
	int column = 0;  // 1-based, in bytes
};

class PosMap {
public:
	// Where the value at `pointer` starts; an unknown pointer falls back to
	// its nearest recorded ancestor, so a message always has a position.
	Pos value(const std::string &pointer) const;
	// Where the key naming the member `pointer` starts (falls back to value()).
	Pos key(const std::string &pointer) const;

	std::map<std::string, Pos> values;
	std::map<std::string, Pos> keys;
};

PosMap scan_positions(std::string_view text);

Pos offset_to_pos(std::string_view text, std::size_t offset);

// The pointer of the innermost value being read at `offset`; for syntax
// errors, whose position nlohmann gives only as a byte offset.
std::string pointer_at(std::string_view text, std::size_t offset);

// Where nlohmann's parse_error lies (it gives `byte`, 1-based, and a what()
// with its own position prefix) and its message without that prefix.
struct SyntaxSpot {
	Pos pos;
	std::string pointer;
	std::string message;
};
SyntaxSpot locate_syntax_error(std::string_view text, std::size_t byte, const std::string &what);

// RFC 6901 escaping of one reference token.
std::string pointer_escape(std::string_view token);

} // namespace luo::core
