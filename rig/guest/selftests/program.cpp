// SPDX-License-Identifier: GPL-2.0-only
#include "program.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace luo::guest {

namespace {

// Enough for the harness's KTAP and a failing stage's messages; the serial
// event port is slow and a runaway program must not flood it.
constexpr size_t kMaxOutput = 48 * 1024;
// After the program itself exited, how long a daemon it left may keep the
// pipe open before the runner stops waiting for EOF.
constexpr int kDrainMs = 5000;

} // namespace

void console_mark(const std::string &line)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	std::string l = line + "\n";
	(void)!write(fd, l.data(), l.size());
	close(fd);
}

ProgramRun run_program(const std::vector<std::string> &argv, const std::vector<std::string> &env)
{
	ProgramRun r;
	auto t0 = std::chrono::steady_clock::now();
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		r.error = std::string("pipe: ") + strerror(errno);
		return r;
	}
	pid_t pid = fork();
	if (pid < 0) {
		r.error = std::string("fork: ") + strerror(errno);
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(null, STDIN_FILENO);
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		std::vector<char *> args;
		for (const auto &a : argv)
			args.push_back(const_cast<char *>(a.c_str()));
		args.push_back(nullptr);
		std::vector<char *> envp{const_cast<char *>("PATH=/selftests")};
		for (const auto &e : env)
			envp.push_back(const_cast<char *>(e.c_str()));
		envp.push_back(nullptr);
		execve(args[0], args.data(), envp.data());
		dprintf(STDERR_FILENO, "luo-selftests: execve %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	int status = 0;
	bool exited = false;
	char buf[4096];
	for (;;) {
		struct pollfd p = {pipefd[0], POLLIN, 0};
		int n = poll(&p, 1, exited ? kDrainMs : 200);
		if (n > 0) {
			ssize_t got = read(pipefd[0], buf, sizeof(buf));
			if (got <= 0)
				break;
			if (r.output.size() < kMaxOutput)
				r.output.append(buf, std::min<size_t>(got, kMaxOutput - r.output.size()));
			continue;
		}
		if (exited)
			break;   // something it left behind still holds the pipe
		if (waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
	}
	close(pipefd[0]);
	if (!exited)
		waitpid(pid, &status, 0);
	if (r.output.size() >= kMaxOutput)
		r.output += "\n[output cut at " + std::to_string(kMaxOutput) + " bytes]\n";
	if (WIFSIGNALED(status))
		r.signal = WTERMSIG(status);
	else
		r.exit_code = WEXITSTATUS(status);
	r.usec = std::chrono::duration_cast<std::chrono::microseconds>(
			 std::chrono::steady_clock::now() - t0)
			 .count();
	return r;
}

} // namespace luo::guest
