// SPDX-License-Identifier: GPL-2.0-only
//
// The rig's console classifier against syzkaller's corpus of real Linux
// crash consoles (pkg/report/testdata/linux/report of a syzkaller
// checkout).  Each corpus file is a header of "KEY: value" lines (TITLE,
// ALT, TYPE, CORRUPTED, ...), a blank line, then the console.  A file
// without a TITLE holds no crash: any finding there is a false alarm.
//
//   console-corpus [-v] DIR
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "host/run/console.hpp"

namespace fs = std::filesystem;

namespace {

struct CorpusFile {
	std::string name;
	std::vector<std::string> titles; // TITLE lines, first report first
	std::vector<std::string> alts;   // ALT lines: other names of the same report
	std::string console;
};

CorpusFile read_corpus_file(const fs::path &p)
{
	std::ifstream in(p, std::ios::binary);
	std::stringstream ss;
	ss << in.rdbuf();
	std::string all = ss.str();
	CorpusFile f;
	f.name = p.filename().string();
	size_t pos = 0;
	// The header ends at the first blank line.
	while (pos < all.size()) {
		size_t eol = all.find('\n', pos);
		if (eol == std::string::npos)
			eol = all.size();
		std::string l = all.substr(pos, eol - pos);
		pos = eol + 1;
		if (l.empty())
			break;
		if (l.rfind("TITLE: ", 0) == 0)
			f.titles.push_back(l.substr(7));
		else if (l.rfind("ALT: ", 0) == 0)
			f.alts.push_back(l.substr(5));
	}
	f.console = pos < all.size() ? all.substr(pos) : "";
	return f;
}

} // namespace

int main(int argc, char **argv)
{
	bool verbose = false;
	std::string dir;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "-v")
			verbose = true;
		else if (dir.empty())
			dir = a;
		else
			dir.clear(), i = argc;
	}
	if (dir.empty()) {
		std::cerr << "usage: console-corpus [-v] SYZKALLER_CHECKOUT\n";
		return 2;
	}
	fs::path corpus = fs::path(dir) / "pkg/report/testdata/linux/report";
	if (!fs::is_directory(corpus)) {
		std::cerr << "console-corpus: " << corpus.string()
			  << ": no such directory; give the top of a syzkaller checkout\n";
		return 2;
	}
	std::vector<fs::path> files;
	for (const auto &e : fs::directory_iterator(corpus))
		if (e.is_regular_file())
			files.push_back(e.path());
	std::sort(files.begin(), files.end(), [](const fs::path &a, const fs::path &b) {
		auto na = a.filename().string(), nb = b.filename().string();
		return na.size() != nb.size() ? na.size() < nb.size() : na < nb;
	});

	int titled = 0, detected = 0, agree = 0, untitled = 0, false_alarms = 0;
	double seconds = 0;
	for (const auto &p : files) {
		auto f = read_corpus_file(p);
		auto t0 = std::chrono::steady_clock::now();
		auto found = luo::host::classify_console(f.console);
		seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
		if (f.titles.empty()) {
			untitled++;
			if (!found.empty()) {
				false_alarms++;
				if (verbose)
					std::cout << f.name << ": false alarm: " << found.front().title
						  << " (line " << found.front().line << ")\n";
			}
			continue;
		}
		titled++;
		if (found.empty()) {
			if (verbose)
				std::cout << f.name << ": missed: " << f.titles.front() << "\n";
			continue;
		}
		detected++;
		if (found.front().title == f.titles.front())
			agree++;
		else if (verbose)
			std::cout << f.name << ": title: want \"" << f.titles.front() << "\" got \""
				  << found.front().title << "\"\n";
	}
	std::cout << "classified " << files.size() << " files in " << seconds << " s\n";
	std::cout << "detected " << detected << " of " << titled << " titled, " << agree
		  << " titles agree, " << false_alarms << " false alarms of " << untitled
		  << " untitled\n";
	return 0;
}
