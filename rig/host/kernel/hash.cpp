// SPDX-License-Identifier: GPL-2.0-only
#include "host/kernel/hash.hpp"

#include "host/util/atomic_file.hpp"

#include <fstream>
#include <openssl/evp.h>
#include <stdexcept>

namespace luo::host {

struct Hasher::Impl {
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	~Impl() { EVP_MD_CTX_free(ctx); }
};

Hasher::Hasher() : impl_(std::make_unique<Impl>())
{
	EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
}

Hasher::~Hasher() = default;

Hasher &Hasher::add(std::string_view field)
{
	std::string len = std::to_string(field.size()) + ":";
	EVP_DigestUpdate(impl_->ctx, len.data(), len.size());
	EVP_DigestUpdate(impl_->ctx, field.data(), field.size());
	return *this;
}

Hasher &Hasher::add_file(const std::filesystem::path &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw std::runtime_error("cannot read " + path.string());
	add(path.filename().string());
	char buf[1 << 16];
	while (in.read(buf, sizeof(buf)) || in.gcount() > 0)
		EVP_DigestUpdate(impl_->ctx, buf, in.gcount());
	return *this;
}

std::string Hasher::hex()
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	EVP_DigestFinal_ex(impl_->ctx, md, &len);
	static const char digits[] = "0123456789abcdef";
	std::string out;
	for (unsigned i = 0; i < len; i++) {
		out += digits[md[i] >> 4];
		out += digits[md[i] & 15];
	}
	EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
	return out;
}

std::string sha256_file(const std::filesystem::path &path)
{
	return Hasher().add(read_file(path)).hex();
}

} // namespace luo::host
