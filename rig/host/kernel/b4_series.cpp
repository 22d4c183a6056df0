// SPDX-License-Identifier: GPL-2.0-only
#include "host/kernel/b4_series.hpp"

#include <map>

#include <cctype>
#include <cstdlib>
#include <sstream>
#include <unistd.h>
#include <vector>

#include "host/util/errors.hpp"
#include "host/util/process.hpp"

namespace luo::host {

namespace fs = std::filesystem;

namespace {

std::string percent_decode(const std::string &s)
{
	std::string out;
	for (size_t i = 0; i < s.size(); i++) {
		if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
		    std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
			out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
			i += 2;
		} else {
			out += s[i];
		}
	}
	return out;
}

bool on_path(const std::string &program)
{
	const char *path = std::getenv("PATH");
	std::istringstream dirs(path ? path : "");
	for (std::string d; std::getline(dirs, d, ':');) {
		fs::path p = fs::path(d.empty() ? "." : d) / program;
		if (::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p))
			return true;
	}
	return false;
}

// A directory name for the message-id: readable, and never a path.
std::string dir_name(const std::string &msgid)
{
	std::string out;
	for (char c : msgid)
		out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
			c == '_' || c == '@' || c == '+')
			       ? c
			       : '_';
	if (out.empty() || out[0] == '.')
		out = "_" + out;
	return out;
}

} // namespace

std::string normalise_msgid(const std::string &given)
{
	std::string s = given;
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
		s.pop_back();
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
		s.erase(0, 1);
	auto scheme = s.find("://");
	if (scheme != std::string::npos) {
		// https://HOST/LIST/MSGID/[T/][#u|raw]: the path part with an '@'.
		std::string path = s.substr(scheme + 3);
		path = path.substr(0, path.find_first_of("?#"));
		std::istringstream parts(path);
		std::string part;
		std::getline(parts, part, '/'); // the host
		std::string found;
		while (std::getline(parts, part, '/')) {
			part = percent_decode(part);
			if (part.find('@') != std::string::npos) {
				found = part;
				break;
			}
		}
		if (found.empty())
			throw SetupError("--series " + given +
					 ": no message-id in this URL; pass the message-id of the "
					 "series' cover letter or first patch (id@host)");
		s = found;
	}
	if (s.size() >= 2 && s.front() == '<' && s.back() == '>')
		s = s.substr(1, s.size() - 2);
	if (s.empty() || s.find('@') == std::string::npos ||
	    s.find_first_of(" \t<>/") != std::string::npos)
		throw SetupError("--series " + given +
				 ": not a message-id; pass it as id@host, <id@host> or the "
				 "archive URL of the message");
	return s;
}

fs::path fetch_series(const std::string &msgid, const fs::path &series_root)
{
	const std::string elsewhere = "fetch the series elsewhere (b4 am -o . " + msgid +
				      ") and pass --mbox FILE";
	if (!on_path("b4"))
		throw SetupError("--series " + msgid +
				 ": b4 is not installed; apt-get install b4, or " + elsewhere);
	// Once per run: the kernel, its uapi headers and its selftests must
	// come from the same fetch, and the archive may change between two.
	static std::map<std::pair<fs::path, std::string>, fs::path> fetched;
	if (auto it = fetched.find({series_root, msgid}); it != fetched.end())
		return it->second;
	fs::path dir = series_root / dir_name(msgid);
	std::error_code ec;
	fs::remove_all(dir, ec);
	fs::create_directories(dir);
	std::string last;
	RunOptions o;
	o.on_line = [&](const std::string &l) {
		if (l.find_first_not_of(" \t\r") != std::string::npos)
			last = l;
	};
	int rc = run_command({"b4", "am", "-o", dir.string(), msgid}, o);
	if (rc != 0) {
		fs::remove_all(dir, ec); // nothing half-fetched for a later run to take
		throw SetupError("--series " + msgid + ": b4 am failed (exit " + std::to_string(rc) +
				 "): " + (last.empty() ? "no output" : last) + "; " + elsewhere);
	}
	std::vector<fs::path> mboxes;
	for (const auto &e : fs::directory_iterator(dir))
		if (e.path().extension() == ".mbx")
			mboxes.push_back(e.path());
	if (mboxes.size() != 1)
		throw SetupError("--series " + msgid + ": b4 am wrote " +
				 std::to_string(mboxes.size()) + " mbox files (*.mbx) into " +
				 dir.string() + ", expected one; " + elsewhere);
	fetched[{series_root, msgid}] = mboxes.front();
	return mboxes.front();
}

} // namespace luo::host
