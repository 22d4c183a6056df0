// SPDX-License-Identifier: GPL-2.0-only
#include "json_pos.hpp"

#include <vector>

namespace luo::core {

namespace {

struct Stop {};

// Recursive descent over JSON text.  It trusts nothing: on malformed input
// or on reaching `stop` it throws Stop, leaving `path` at the innermost
// value, which is what pointer_at() wants.
class Scanner {
public:
	Scanner(std::string_view text, std::size_t stop, PosMap *out)
		: t_(text), stop_(stop), out_(out)
	{
	}

	void run()
	{
		ws();
		value();
	}

	std::string pointer() const
	{
		std::string p;
		for (const auto &tok : path_)
			p += "/" + tok;
		return p;
	}

private:
	std::string_view t_;
	std::size_t stop_;
	PosMap *out_;
	std::size_t i_ = 0;
	int line_ = 1;
	std::size_t line_start_ = 0;
	std::vector<std::string> path_;

	Pos here() const { return {line_, static_cast<int>(i_ - line_start_) + 1}; }

	char peek()
	{
		if (i_ >= t_.size() || i_ >= stop_)
			throw Stop{};
		return t_[i_];
	}

	void advance()
	{
		if (t_[i_] == '\n') {
			line_++;
			line_start_ = i_ + 1;
		}
		i_++;
	}

	void ws()
	{
		while (i_ < t_.size() && i_ < stop_ &&
		       (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r'))
			advance();
	}

	void expect(char c)
	{
		if (peek() != c)
			throw Stop{};
		advance();
	}

	std::string string()
	{
		std::string s;
		expect('"');
		for (;;) {
			char c = peek();
			advance();
			if (c == '"')
				return s;
			if (c != '\\') {
				s += c;
				continue;
			}
			char e = peek();
			advance();
			switch (e) {
			case 'n': s += '\n'; break;
			case 't': s += '\t'; break;
			case 'r': s += '\r'; break;
			case 'b': s += '\b'; break;
			case 'f': s += '\f'; break;
			case 'u':
				// Keys with \u escapes never name scenario fields;
				// keep the raw form rather than decode UTF-16.
				s += "\\u";
				break;
			default: s += e; break;
			}
		}
	}

	void value()
	{
		if (out_)
			out_->values.emplace(pointer(), here());
		char c = peek();
		if (c == '{')
			object();
		else if (c == '[')
			array();
		else if (c == '"')
			string();
		else
			while (i_ < t_.size() && i_ < stop_ && t_[i_] != ',' && t_[i_] != '}' &&
			       t_[i_] != ']' && t_[i_] != ' ' && t_[i_] != '\n' && t_[i_] != '\t' &&
			       t_[i_] != '\r')
				advance();
	}

	void object()
	{
		expect('{');
		ws();
		if (peek() == '}') {
			advance();
			return;
		}
		for (;;) {
			ws();
			Pos kp = here();
			std::string key = pointer_escape(string());
			path_.push_back(key);
			if (out_)
				out_->keys.emplace(pointer(), kp);
			ws();
			expect(':');
			ws();
			value();
			path_.pop_back();
			ws();
			if (peek() == ',') {
				advance();
				continue;
			}
			expect('}');
			return;
		}
	}

	void array()
	{
		expect('[');
		ws();
		if (peek() == ']') {
			advance();
			return;
		}
		for (std::size_t n = 0;; n++) {
			ws();
			path_.push_back(std::to_string(n));
			value();
			path_.pop_back();
			ws();
			if (peek() == ',') {
				advance();
				continue;
			}
			expect(']');
			return;
		}
	}
};

} // namespace

std::string pointer_escape(std::string_view token)
{
	std::string out;
	for (char c : token) {
		if (c == '~')
			out += "~0";
		else if (c == '/')
			out += "~1";
		else
			out += c;
	}
	return out;
}

Pos PosMap::value(const std::string &pointer) const
{
	std::string p = pointer;
	for (;;) {
		auto it = values.find(p);
		if (it != values.end())
			return it->second;
		if (p.empty())
			return {};
		p.erase(p.rfind('/'));
	}
}

Pos PosMap::key(const std::string &pointer) const
{
	auto it = keys.find(pointer);
	return it != keys.end() ? it->second : value(pointer);
}

PosMap scan_positions(std::string_view text)
{
	PosMap map;
	Scanner s(text, text.size(), &map);
	try {
		s.run();
	} catch (const Stop &) {
		// Partial maps are still useful: positions found so far stay.
	}
	return map;
}

Pos offset_to_pos(std::string_view text, std::size_t offset)
{
	Pos p{1, 1};
	for (std::size_t i = 0; i < offset && i < text.size(); i++) {
		if (text[i] == '\n') {
			p.line++;
			p.column = 1;
		} else {
			p.column++;
		}
	}
	return p;
}

std::string pointer_at(std::string_view text, std::size_t offset)
{
	Scanner s(text, offset, nullptr);
	try {
		s.run();
	} catch (const Stop &) {
	}
	return s.pointer();
}

SyntaxSpot locate_syntax_error(std::string_view text, std::size_t byte, const std::string &what)
{
	// byte counts the offending character itself, 1-based.
	std::size_t off = byte ? byte - 1 : 0;
	SyntaxSpot s{offset_to_pos(text, off), pointer_at(text, off), what};
	if (auto c = s.message.find("column "); c != std::string::npos)
		if (auto colon = s.message.find(": ", c); colon != std::string::npos)
			s.message = s.message.substr(colon + 2);
	return s;
}

} // namespace luo::core
