// SPDX-License-Identifier: GPL-2.0-only
//
// The libvirt backend against the real daemon (ci/libvirt starts it): the
// same guests give the same outcomes as with QEMU started directly; VMs
// spread over connections; a connection that dies loses nothing; Ctrl-C
// and a missing daemon leave nothing behind.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <thread>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include "e2e_support.hpp"

using namespace luo;
namespace fs = std::filesystem;

namespace {

std::string output_of(const std::string &cmd)
{
	std::string out;
	if (FILE *p = popen(cmd.c_str(), "r")) {
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
			out.append(buf, n);
		pclose(p);
	}
	return out;
}

// A daemon that stopped answering must fail the test that asked, not hang
// the whole CI run: every virsh here gives up after this long.
constexpr const char *kVirsh = "timeout 60 virsh -c '";

// Names of the rig's domains (or volumes) on a connection, one per line.
std::string rig_domains(const std::string &uri)
{
	return output_of(kVirsh + uri + "' list --all --name 2>/dev/null | grep '^luo-rig-' || true");
}

std::string rig_volumes(const std::string &uri)
{
	return output_of(kVirsh + uri + "' vol-list luo-rig 2>/dev/null | awk '{print $1}' | "
			 "grep '^luo-rig-' || true");
}

std::string hostname_prefix()
{
	char name[256] = "";
	gethostname(name, sizeof(name) - 1);
	std::string h;
	for (char *c = name; *c; c++)
		h += std::isalnum((unsigned char)*c) || *c == '-' ? *c : '-';
	return "luo-rig-" + h + "-";
}

std::string observed_steps(const host::CaseResult &c)
{
	std::string s;
	for (const auto &st : c.steps)
		s += host::describe_observed(st) + (st.matches ? "" : "!") + " ";
	return s;
}

// A second daemon, unprivileged, under a directory of its own: a second
// host that can be killed without touching the first.
class SecondDaemon {
public:
	// A short path: libvirt's sockets live under it, and a UNIX socket's
	// path has at most 107 bytes.
	SecondDaemon()
		: dir_(fs::temp_directory_path() /
		       ("luo-lv2-" + std::to_string(getpid()) + "-" + std::to_string(++made_)))
	{
		stop();
		fs::remove_all(dir_);
		uri_ = output_of(script() + " start " + dir_.string());
		while (!uri_.empty() && uri_.back() == '\n')
			uri_.pop_back();
		REQUIRE(uri_.rfind("qemu:///session?socket=", 0) == 0);
	}
	~SecondDaemon()
	{
		stop();
		std::error_code ec;
		fs::remove_all(dir_, ec);
	}
	void stop() { std::system((script() + " stop " + dir_.string() + " 2>/dev/null").c_str()); }
	void pause() { REQUIRE(std::system((script() + " pause " + dir_.string()).c_str()) == 0); }
	const std::string &uri() const { return uri_; }

private:
	static std::string script()
	{
		return (host::source_root() / "tests/e2e/libvirt_second_daemon.sh").string();
	}
	// One directory per daemon: one still shutting down never shares a
	// pid file with the next.
	static inline int made_ = 0;
	fs::path dir_;
	std::string uri_;
};

// kvm-gmem over the system daemon and `second`, a VM per case, one at a
// time each: some of its VMs are sure to run on the second host.
host::RunConfig over_two_hosts(const SecondDaemon &second, const std::string &tag)
{
	auto cfg = e2e::config_for({"scenarios/deps/kvm-gmem.json"}, tag);
	cfg.backend = "libvirt";
	cfg.connect = {"qemu:///system=1", second.uri() + "=1"};
	cfg.limits.max_cases = 1;
	return cfg;
}

// Runs `cfg` and, once one of its domains runs on `second`, does `act` to
// that host; false if no domain ever came there.
bool run_acting_on(const host::RunConfig &cfg, const SecondDaemon &second,
		   const std::function<void()> &act, host::RunReport &rep)
{
	// What run_suite threw: on the test's thread it fails the test and
	// says what, where escaping the run's thread would abort the process.
	std::string thrown;
	std::thread run([&] {
		try {
			rep = host::run_suite(cfg);
		} catch (const std::exception &e) {
			thrown = e.what();
		}
	});
	bool acted = false;
	auto until = std::chrono::steady_clock::now() + std::chrono::minutes(2);
	while (!acted && std::chrono::steady_clock::now() < until) {
		if (!rig_domains(second.uri()).empty()) {
			act();
			acted = true;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	run.join();
	INFO("the run threw: " << thrown);
	REQUIRE(thrown.empty());
	return acted;
}

// What this process writes to stderr while it lives, kept in a file.
class StderrToFile {
public:
	explicit StderrToFile(const fs::path &file) : file_(file)
	{
		std::fflush(stderr);
		saved_ = dup(2);
		FILE *f = std::fopen(file.c_str(), "w");
		REQUIRE(f);
		dup2(fileno(f), 2);
		std::fclose(f);
	}
	~StderrToFile() { restore(); }
	std::string text()
	{
		restore();
		std::ifstream in(file_);
		return std::string(std::istreambuf_iterator<char>(in), {});
	}

private:
	void restore()
	{
		if (saved_ < 0)
			return;
		std::fflush(stderr);
		dup2(saved_, 2);
		close(saved_);
		saved_ = -1;
	}
	fs::path file_;
	int saved_ = -1;
};

} // namespace

TEST_CASE("libvirt gives the QEMU backend's outcomes, step by step", "[e2e][libvirt]")
{
	std::string fault = GENERATE(std::string(), std::string("drop-contents"));
	std::vector<std::string> files{"scenarios/smoke/memfd.json", "scenarios/deps/kvm-gmem.json",
				       "scenarios/deps/iommufd-vfio.json"};
	std::string tag = fault.empty() ? "plain" : fault;
	auto direct = e2e::config_for(files, "libvirt-same-qemu-" + tag);
	direct.fault = fault;
	auto lv = e2e::config_for(files, "libvirt-same-libvirt-" + tag);
	lv.fault = fault;
	lv.backend = "libvirt";
	lv.connect = {"qemu:///system"};
	auto a = host::run_suite(direct);
	auto b = host::run_suite(lv);
	REQUIRE(a.cases.size() == b.cases.size());
	int failing = 0;
	for (size_t i = 0; i < a.cases.size(); i++) {
		const auto &x = a.cases[i], &y = b.cases[i];
		INFO(x.id << ": qemu " << host::to_string(x.verdict) << " (" << x.message << "), libvirt "
			  << host::to_string(y.verdict) << " (" << y.message << ")");
		REQUIRE(x.id == y.id);
		CHECK(x.verdict == y.verdict);
		CHECK(observed_steps(x) == observed_steps(y));
		CHECK(y.host.find("qemu:///system") != std::string::npos);
		failing += y.verdict != host::Verdict::pass;
	}
	CHECK(a.exit_code == b.exit_code);
	// Without a knob everything passes; with one, the same cases fail.
	if (fault.empty())
		CHECK(failing == 0);
	else
		CHECK(failing > 0);
	CHECK(b.summary.qemu_version.find("libvirt") != std::string::npos);
}

TEST_CASE("two connections share a run's VMs by their slots", "[e2e][libvirt]")
{
	auto cfg = e2e::config_for({"scenarios/deps/kvm-gmem.json"}, "libvirt-two");
	cfg.backend = "libvirt";
	cfg.connect = {"qemu:///system=1", "qemu:///system=1"};
	cfg.limits.max_cases = 2;
	auto rep = host::run_suite(cfg);
	for (const auto &c : rep.cases)
		CHECK(c.verdict == host::Verdict::pass);
	const auto &hosts = rep.summary.vms_per_host;
	REQUIRE(hosts.size() == 2);
	int vms = 0;
	for (const auto &[host, n] : hosts) {
		INFO(host);
		CHECK(n >= 1);
		vms += n;
	}
	CHECK(vms == rep.summary.vms);
	CHECK(rig_domains("qemu:///system").find(hostname_prefix() + std::to_string(getpid())) ==
	      std::string::npos);
}

TEST_CASE("a connection lost mid-run: its VMs run again on the other, nothing lost",
	  "[e2e][libvirt]")
{
	SecondDaemon second;
	auto cfg = over_two_hosts(second, "libvirt-lost");
	host::RunReport rep;
	// Kill the second host while one of the run's domains is on it.
	bool killed = run_acting_on(cfg, second, [&] { second.stop(); }, rep);
	REQUIRE(killed);
	REQUIRE(rep.cases.size() == 10);
	int moved = 0;
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
		if (c.infra_retried) {
			moved++;
			CHECK(c.host.find("qemu:///system") != std::string::npos);
		}
	}
	CHECK(moved >= 1);
	CHECK(rep.summary.infra_retried == moved);
	CHECK(rep.summary.vms_per_host.size() == 2);
	CHECK(rep.exit_code == 0);
}

TEST_CASE("a daemon that hangs mid-run loses its connection at the limit, and its VMs move",
	  "[e2e][libvirt]")
{
	SecondDaemon second;
	auto cfg = over_two_hosts(second, "libvirt-hung");
	// Below keepalive's 20 s, so the watchdog is what notices.
	cfg.libvirt_answer_seconds = 8;
	host::RunReport rep;
	fs::create_directories(cfg.out_dir.parent_path());
	StderrToFile err(cfg.out_dir.parent_path() / "libvirt-hung.stderr");
	bool paused = run_acting_on(cfg, second, [&] { second.pause(); }, rep);
	std::string text = err.text();
	INFO(text);
	REQUIRE(paused);
	REQUIRE(rep.cases.size() == 10);
	int moved = 0;
	for (const auto &c : rep.cases) {
		INFO(c.id << ": " << host::to_string(c.verdict) << ": " << c.message);
		CHECK(c.verdict == host::Verdict::pass);
		moved += c.infra_retried;
	}
	CHECK(moved >= 1);
	CHECK(text.find("stopped answering: ") != std::string::npos);
	CHECK(text.find("did not return within 8 s") != std::string::npos);
	CHECK(text.find("go to another connection") != std::string::npos);
	CHECK(rep.exit_code == 0);
}

TEST_CASE("a daemon that hangs before it answers ends the run as infra, tried twice",
	  "[e2e][libvirt]")
{
	SecondDaemon second;
	second.pause();
	fs::path out = fs::path(LUO_RIG_BINARY_DIR) / "e2e-runs" / "libvirt-hung-open";
	fs::remove_all(out);
	std::string cmd = (fs::path(LUO_RIG_BINARY_DIR) / "luo-rig").string() +
			  " run --backend libvirt --libvirt-timeout 5 --connect '" + second.uri() +
			  "' --out " + out.string() + " " +
			  (host::source_root() / "scenarios/smoke/memfd.json").string() +
			  " 2>&1; echo \"exit=$?\"";
	auto t0 = std::chrono::steady_clock::now();
	std::string text = output_of(cmd);
	double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	INFO(text);
	CHECK(text.find("exit=3") != std::string::npos);
	CHECK(text.find("opening the connection did not return within 5 s") != std::string::npos);
	CHECK(text.find("connecting once more") != std::string::npos);
	CHECK(text.find("(twice in a row)") != std::string::npos);
	CHECK(took < 60);
	CHECK(!fs::exists(out / "vm-1"));
}

TEST_CASE("Ctrl-C during a libvirt run leaves no domain and no volume behind", "[e2e][libvirt]")
{
	fs::path out = fs::path(LUO_RIG_BINARY_DIR) / "e2e-runs" / "libvirt-interrupt";
	fs::remove_all(out);
	std::string rig = (fs::path(LUO_RIG_BINARY_DIR) / "luo-rig").string();
	std::string scenario = (host::source_root() / "scenarios/deps/kvm-gmem.json").string();
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		execl(rig.c_str(), rig.c_str(), "run", "--backend", "libvirt", "--max-cases", "1", "-j",
		      "2", "--out", out.c_str(), scenario.c_str(), (char *)nullptr);
		_exit(127);
	}
	std::string mine = hostname_prefix() + std::to_string(pid) + "-";
	bool seen = false;
	auto until = std::chrono::steady_clock::now() + std::chrono::seconds(90);
	while (!seen && std::chrono::steady_clock::now() < until) {
		seen = rig_domains("qemu:///system").find(mine) != std::string::npos;
		if (!seen)
			std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	kill(pid, SIGINT);
	int status = 0;
	waitpid(pid, &status, 0);
	REQUIRE(seen);
	REQUIRE(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) != 0);
	CHECK(rig_domains("qemu:///system").find(mine) == std::string::npos);
	CHECK(rig_volumes("qemu:///system").find(mine) == std::string::npos);
}

TEST_CASE("a libvirt daemon that is not there stops the run before any boot", "[e2e][libvirt]")
{
	fs::path out = fs::path(LUO_RIG_BINARY_DIR) / "e2e-runs" / "libvirt-nodaemon";
	fs::remove_all(out);
	std::string cmd = (fs::path(LUO_RIG_BINARY_DIR) / "luo-rig").string() +
			  " run --backend libvirt --connect 'qemu:///system?socket=/nonexistent/sock' --out " +
			  out.string() + " " + (host::source_root() / "scenarios/smoke/memfd.json").string() +
			  " 2>&1; echo \"exit=$?\"";
	std::string text = output_of(cmd);
	INFO(text);
	CHECK(text.find("exit=2") != std::string::npos);
	CHECK(text.find("--connect qemu:///system?socket=/nonexistent/sock: cannot connect") !=
	      std::string::npos);
	CHECK(!fs::exists(out / "vm-1"));
}
