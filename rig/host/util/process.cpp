// SPDX-License-Identifier: GPL-2.0-only
#include "host/util/process.hpp"

#include <deque>
#include <fstream>
#include <sstream>

#include <boost/process.hpp>

#include "host/util/errors.hpp"

namespace luo::host {

namespace bp = boost::process;

namespace {

boost::filesystem::path find_program(const std::string &name)
{
	if (name.find('/') != std::string::npos)
		return name;
	auto p = bp::search_path(name);
	if (p.empty())
		throw SetupError("'" + name + "' is not installed or not in PATH: run ci/setup "
				 "(or apt-get install the package that provides it)");
	return p;
}

} // namespace

std::string shell_quote(const std::string &word)
{
	static const std::string safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789_-+=./:,@%";
	if (!word.empty() && word.find_first_not_of(safe) == std::string::npos)
		return word;
	std::string out = "'";
	for (char c : word)
		out += c == '\'' ? std::string("'\\''") : std::string(1, c);
	return out + "'";
}

std::string join_command(const std::vector<std::string> &argv)
{
	std::string out;
	for (const auto &a : argv)
		out += (out.empty() ? "" : " ") + shell_quote(a);
	return out;
}

int run_command(const std::vector<std::string> &argv, const RunOptions &opts)
{
	auto exe = find_program(argv.at(0));
	std::vector<std::string> args(argv.begin() + 1, argv.end());
	auto env = boost::this_process::environment();
	bp::environment child_env = env;
	for (const auto &[k, v] : opts.env)
		child_env[k] = v;
	std::ofstream log;
	if (!opts.log.empty()) {
		std::filesystem::create_directories(opts.log.parent_path());
		log.open(opts.log, std::ios::app);
		log << "$ " << join_command(argv) << "\n";
	}
	bp::ipstream out;
	std::string cwd = opts.cwd.empty() ? std::filesystem::current_path().string()
					   : opts.cwd.string();
	bp::child child(exe, bp::args(args), bp::start_dir(cwd), child_env,
			(bp::std_out & bp::std_err) > out, bp::std_in < bp::null);
	std::string line;
	while (std::getline(out, line)) {
		if (log.is_open())
			log << line << "\n";
		if (opts.on_line)
			opts.on_line(line);
	}
	child.wait();
	return child.exit_code();
}

std::string capture(const std::vector<std::string> &argv, const RunOptions &opts)
{
	std::ostringstream text;
	RunOptions o = opts;
	auto chained = opts.on_line;
	o.on_line = [&](const std::string &l) {
		text << l << "\n";
		if (chained)
			chained(l);
	};
	int rc = run_command(argv, o);
	if (rc != 0) {
		std::string all = text.str();
		if (all.size() > 4000)
			all = "..." + all.substr(all.size() - 4000);
		throw SetupError("command failed (exit " + std::to_string(rc) +
				 "): " + join_command(argv) + "\n" + all);
	}
	return text.str();
}

std::string tail_of(const std::filesystem::path &file, int lines)
{
	std::ifstream in(file);
	std::deque<std::string> last;
	std::string l;
	while (std::getline(in, l)) {
		last.push_back(l);
		if ((int)last.size() > lines)
			last.pop_front();
	}
	std::string out;
	for (const auto &x : last)
		out += x + "\n";
	return out;
}

} // namespace luo::host
