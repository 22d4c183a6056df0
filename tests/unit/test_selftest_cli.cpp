// SPDX-License-Identifier: GPL-2.0-only
//
// --selftests and --selftests-only combinations the rig cannot honour are
// refused with exit 2 before anything is built or booted.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <boost/process.hpp>

using Catch::Matchers::ContainsSubstring;
namespace bp = boost::process;

namespace {

struct Result {
	int code;
	std::string err;
};

Result luo_rig(std::vector<std::string> args)
{
	bp::ipstream err;
	bp::child c(std::string(LUO_RIG_BINARY_DIR) + "/luo-rig", bp::args(args),
		    bp::std_out > bp::null, bp::std_err > err, bp::std_in < bp::null,
		    bp::env["LUO_RIG_CACHE"] = "/nonexistent/luo-rig-cache");
	Result r;
	std::string l;
	while (std::getline(err, l))
		r.err += l + "\n";
	c.wait();
	r.code = c.exit_code();
	return r;
}

} // namespace

TEST_CASE("bad selftest option combinations exit 2 and say what to do", "[unit][cli][selftests]")
{
	// The cache points nowhere: reaching a kernel build or a boot would
	// show as another error than the one each refusal names.
	struct {
		std::vector<std::string> args;
		const char *says;
	} refused[] = {
		{{"run", "--selftests", "--selftests-only"}, "give one"},
		{{"run", "--selftests-only", "scenarios/smoke"}, "use --selftests"},
		{{"run", "--selftests-only", "--case", "kvm-gmem/*"}, "--case kvm-gmem/*"},
		{{"run", "--selftests-only", "--contract", "strict"}, "--contract strict"},
		{{"run", "--selftests", "--shard", "1/4"}, "--selftests-only"},
		{{"run", "--selftests", "--kernel", "/tmp/bzImage"}, "add --kernel-src"},
	};
	for (const auto &r : refused) {
		auto got = luo_rig(r.args);
		INFO(r.args[1] << " " << r.args[2] << ": " << got.err);
		CHECK(got.code == 2);
		CHECK_THAT(got.err, ContainsSubstring(r.says));
		CHECK_THAT(got.err, !ContainsSubstring("kernel 7.3"));
	}
}
