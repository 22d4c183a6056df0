// SPDX-License-Identifier: GPL-2.0-only
//
// SHA-256 for cache keys: what went into a kernel decides where it is cached.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace luo::host {

class Hasher {
public:
	Hasher();
	~Hasher();
	Hasher(const Hasher &) = delete;
	Hasher &operator=(const Hasher &) = delete;

	// Each field is length-prefixed so that ("ab","c") and ("a","bc") differ.
	Hasher &add(std::string_view field);
	Hasher &add_file(const std::filesystem::path &path);
	std::string hex();

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

std::string sha256_file(const std::filesystem::path &path);

} // namespace luo::host
