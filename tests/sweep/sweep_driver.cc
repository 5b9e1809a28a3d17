/* SPDX-License-Identifier: MIT */
/* tests/sweep/sweep_driver.cc: hvabs_sweep - runs each conformance test once per injection point (one child each) and judges the records. */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

const char kUsage[] =
	"usage: hvabs_sweep --bin CONFORMANCE_BINARY --kind KIND[,KIND] [options]\n"
	"  Runs every selected conformance test once per injection point, each in its own\n"
	"  process with HVABS_SWEEP=<kind>:<op>:<nth>, after a counting run that finds the\n"
	"  points (tests/sweep/README.md).\n"
	"  --kind K[,K]      alloc (failing allocator), simop (sim injector), emu (gunyah emulator errno)\n"
	"  --filter P        gtest-style patterns (A:B-C:D) on the full test names (default *)\n"
	"  --stride N        every Nth point of each test, over all its ops in turn, starting at an\n"
	"                    offset that moves from test to test (default 1: every point)\n"
	"  --max-points N    at most N points per test after the stride, spread evenly (default 0: no limit)\n"
	"  --jobs N          concurrent children (default 2)\n"
	"  --timeout S       seconds per child before it counts as hung (default 60)\n"
	"  --env K=V         extra environment for the children (repeatable)\n"
	"  --label NAME      prefix of the rows in the totals (a row per backend and guest kit)\n"
	"  --out DIR         keep results.tsv and the logs of failing runs in DIR\n"
	"  --wrapper CMD     run each child under CMD (space-separated), e.g.\n"
	"                    \"valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=86\"\n"
	"  --verbose         one line per test\n";

struct Options {
	std::string bin;
	std::vector<std::string> kinds;
	std::string filter = "*";
	unsigned long stride = 1;
	unsigned long max_points = 0;
	int jobs = 2;
	int timeout = 60;
	std::vector<std::string> env;
	std::string label;
	std::string out;
	std::vector<std::string> wrapper;
	bool verbose = false;
};

/* key=value fields of a record line. */
using Record = std::map<std::string, std::string>;

Record parse_record(const std::string &line)
{
	Record r;
	std::stringstream ss(line);
	std::string f;

	while (std::getline(ss, f, '\t')) {
		size_t eq = f.find('=');
		if (eq != std::string::npos)
			r[f.substr(0, eq)] = f.substr(eq + 1);
	}
	return r;
}

std::string get(const Record &r, const std::string &k, const std::string &def = "")
{
	auto it = r.find(k);
	return it == r.end() ? def : it->second;
}

long num(const Record &r, const std::string &k, long def = 0)
{
	auto it = r.find(k);
	return it == r.end() || it->second.empty() ? def : strtol(it->second.c_str(), nullptr, 10);
}

bool glob_any(const std::vector<std::string> &pats, const std::string &s)
{
	for (const std::string &p : pats)
		if (fnmatch(p.c_str(), s.c_str(), 0) == 0)
			return true;
	return false;
}

std::vector<std::string> split(const std::string &s, char sep)
{
	std::vector<std::string> v;
	std::stringstream ss(s);
	std::string x;

	while (std::getline(ss, x, sep))
		if (!x.empty())
			v.push_back(x);
	return v;
}

/* gtest filter semantics: positive patterns, then '-' and negative ones. */
bool filter_match(const std::string &filter, const std::string &name)
{
	size_t dash = filter.find('-');
	std::vector<std::string> pos = split(filter.substr(0, dash), ':');
	std::vector<std::string> neg = dash == std::string::npos ? std::vector<std::string>{}
								 : split(filter.substr(dash + 1), ':');

	if (pos.empty())
		pos.push_back("*");
	return glob_any(pos, name) && !glob_any(neg, name);
}

/* "Kits/GuestTest.Foo/sim_callback" -> "sim_callback": the backend, and the guest kit if any. */
std::string param_of(const std::string &test)
{
	return test.substr(test.rfind('/') + 1);
}

struct Job {
	std::string test;
	std::string kind;
	std::string op; /* "" for the counting run */
	unsigned long nth = 0;
	int id = 0;
	pid_t pid = 0;
	Clock::time_point start;
	std::string rec_path, log_path;
};

struct Row {
	std::set<std::string> tests_ran, tests_skipped;
	unsigned long points = 0; /* injection points found by the counting runs */
	unsigned long runs = 0;   /* point runs executed */
	unsigned long failed = 0; /* runs (point or counting) with at least one failure */
	std::map<std::string, unsigned long> fails, infos;
	std::map<std::string, unsigned long> op_points;
};

class Sweep {
public:
	explicit Sweep(const Options &o) : o_(o) {}

	int run()
	{
		t0_ = Clock::now();
		if (!setup_out())
			return 2;
		std::vector<std::string> tests = list_tests();
		if (tests.empty()) {
			fprintf(stderr, "hvabs_sweep: no test matches %s\n", o_.filter.c_str());
			return 2;
		}
		/* One counting run per test finds the points of every kind. */
		std::string kinds;
		for (const std::string &k : o_.kinds)
			kinds += (kinds.empty() ? "" : ",") + k;
		for (const std::string &t : tests)
			pending_.push_back(Job{ t, kinds, "", 0, next_id_++, 0, {}, {}, {} });
		loop();
		return report();
	}

private:
	bool setup_out()
	{
		char tmpl[] = "/tmp/hvabs-sweep-XXXXXX";
		if (o_.out.empty()) {
			if (!mkdtemp(tmpl)) {
				perror("mkdtemp");
				return false;
			}
			work_ = tmpl;
			keep_ = false;
		} else {
			work_ = o_.out;
			mkdir(work_.c_str(), 0755);
			keep_ = true;
		}
		mkdir((work_ + "/fail").c_str(), 0755);
		results_.open(work_ + "/results.tsv", std::ios::trunc);
		if (!results_.good())
			fprintf(stderr, "hvabs_sweep: cannot write %s/results.tsv\n", work_.c_str());
		return results_.good();
	}

	std::vector<std::string> list_tests()
	{
		std::string cmd;
		for (const std::string &e : o_.env)
			cmd += "'" + e + "' ";
		cmd = "env " + cmd + "'" + o_.bin + "' --gtest_list_tests 2>/dev/null";
		FILE *p = popen(cmd.c_str(), "r");
		std::vector<std::string> v;
		std::string suite;
		char buf[4096];

		if (!p)
			return v;
		while (fgets(buf, sizeof(buf), p)) {
			std::string l(buf);
			l = l.substr(0, l.find_first_of("#\n"));
			while (!l.empty() && l.back() == ' ')
				l.pop_back();
			if (l.empty())
				continue;
			if (l[0] != ' ') {
				suite = l;
				continue;
			}
			std::string name = suite + l.substr(l.find_first_not_of(' '));
			if (filter_match(o_.filter, name))
				v.push_back(name);
		}
		pclose(p);
		return v;
	}

	void launch(Job &j)
	{
		j.rec_path = work_ + "/job-" + std::to_string(j.id) + ".rec";
		j.log_path = work_ + "/job-" + std::to_string(j.id) + ".log";
		unlink(j.rec_path.c_str());
		std::string spec = j.op.empty() ? "count:" + j.kind : j.kind + ":" + j.op + ":" + std::to_string(j.nth);
		std::string filter = "--gtest_filter=" + j.test;
		j.start = Clock::now();
		pid_t pid = fork();
		if (pid == 0) {
			for (const std::string &e : o_.env) {
				size_t eq = e.find('=');
				if (eq != std::string::npos)
					setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
			}
			setenv("HVABS_SWEEP", spec.c_str(), 1);
			setenv("HVABS_SWEEP_OUT", j.rec_path.c_str(), 1);
			int fd = open(j.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
				close(fd);
			}
			int nul = open("/dev/null", O_RDONLY);
			if (nul >= 0) {
				dup2(nul, 0);
				close(nul);
			}
			std::vector<std::string> args = o_.wrapper;
			args.insert(args.end(), { o_.bin, filter, "--gtest_color=no" });
			std::vector<char *> argv;
			for (std::string &a : args)
				argv.push_back(&a[0]);
			argv.push_back(nullptr);
			execvp(argv[0], argv.data());
			_exit(127);
		}
		j.pid = pid;
	}

	void loop()
	{
		std::map<pid_t, Job> running;

		while (!pending_.empty() || !running.empty()) {
			while ((int)running.size() < o_.jobs && !pending_.empty()) {
				Job j = pending_.front();
				pending_.pop_front();
				launch(j);
				if (j.pid <= 0) {
					perror("fork");
					exit(2);
				}
				running[j.pid] = j;
			}
			int status = 0;
			pid_t pid = waitpid(-1, &status, WNOHANG);
			if (pid > 0) {
				auto it = running.find(pid);
				if (it != running.end()) {
					Job j = it->second;
					running.erase(it);
					finished(j, status, false);
				}
				continue;
			}
			auto now = Clock::now();
			for (auto it = running.begin(); it != running.end();) {
				if (now - it->second.start > std::chrono::seconds(o_.timeout)) {
					kill(it->first, SIGKILL);
					waitpid(it->first, &status, 0);
					Job j = it->second;
					it = running.erase(it);
					finished(j, status, true);
				} else {
					++it;
				}
			}
			usleep(500);
		}
	}

	static std::string slurp(const std::string &path)
	{
		std::ifstream f(path);
		std::stringstream ss;
		ss << f.rdbuf();
		return ss.str();
	}

	/* Rows of the totals: one per backend/kit parameter, prefixed by --label. */
	std::string row_name(const std::string &test) const
	{
		return o_.label.empty() ? param_of(test) : o_.label + ":" + param_of(test);
	}

	/*
	 * The points of one test to run: all of them in op order, thinned to
	 * every stride-th (the offset moves with the test's position, so a
	 * strided sweep still reaches every position of the tests that look
	 * alike), then capped at max_points spread evenly.
	 */
	std::vector<std::pair<std::string, unsigned long>>
	select_points(const std::vector<std::pair<std::string, unsigned long>> &counts, unsigned long seq) const
	{
		std::vector<std::pair<std::string, unsigned long>> all, v;
		for (const auto &c : counts)
			for (unsigned long k = 1; k <= c.second; k++)
				all.emplace_back(c.first, k);
		for (size_t i = 0; i < all.size(); i++)
			if ((i + seq) % o_.stride == 0)
				v.push_back(all[i]);
		if (o_.max_points && v.size() > o_.max_points) {
			std::vector<std::pair<std::string, unsigned long>> w;
			for (unsigned long i = 0; i < o_.max_points; i++)
				w.push_back(v[i * v.size() / o_.max_points]);
			v = w;
		}
		return v;
	}

	/*
	 * Judge one run. Failures: the process crashed, hung or a sanitizer
	 * spoke; memory, descriptors or emulated-kernel objects leaked; a VM
	 * was left unusable; the call the fault hit returned 0 or a code that
	 * is not a clean HVABS_E* with the thread's error detail. The rest is
	 * information (where the fault surfaced, which code).
	 */
	void finished(const Job &j, int status, bool timed_out)
	{
		double ms = std::chrono::duration<double, std::milli>(Clock::now() - j.start).count();
		std::string log = slurp(j.log_path);
		std::string recs = slurp(j.rec_path);
		Record r = parse_record(recs.substr(0, recs.find('\n')));
		/* A counting run is booked under each kind it counted (under all when it did not run). */
		std::vector<std::string> row_kinds = split(j.op.empty() && !get(r, "kinds").empty() ? get(r, "kinds") : j.kind, ',');
		Row &row = rows_[row_name(j.test) + "\t" + row_kinds[0]];
		std::vector<std::string> fails;
		std::vector<std::string> infos;

		if (timed_out)
			fails.push_back("hang");
		else if (WIFSIGNALED(status))
			fails.push_back(std::string("signal-") + strsignal(WTERMSIG(status)));
		else if (WIFEXITED(status) && WEXITSTATUS(status) > 1)
			fails.push_back("exit-" + std::to_string(WEXITSTATUS(status)));
		if (log.find("LeakSanitizer") != std::string::npos)
			fails.push_back("lsan");
		else if (log.find("Sanitizer") != std::string::npos || log.find("runtime error:") != std::string::npos)
			fails.push_back("sanitizer");
		if (recs.empty() && !timed_out)
			fails.push_back("no-record");

		std::string state = get(r, "state");
		if (state == "error")
			fails.push_back("setup-error");
		if (state == "skipped") {
			if (j.op.empty())
				for (const std::string &k : row_kinds)
					rows_[row_name(j.test) + "\t" + k].tests_skipped.insert(j.test);
			else
				infos.push_back("skipped");
		}
		if (state == "ran") {
			if (num(r, "alloc_end", -1) != num(r, "alloc_base", -2))
				fails.push_back("leak");
			if (num(r, "fd_end", -1) != num(r, "fd_base", -2))
				fails.push_back("fd-leak");
			if (get(r, "backend_left", "-") != "-")
				fails.push_back("kernel-leak");
			if (get(r, "usable", "ok") != "ok")
				fails.push_back("unusable");
			if (num(r, "vms_left") || num(r, "types_left"))
				infos.push_back("test-left-objects");
		}
		if (state == "ran" && j.op.empty()) {
			std::map<std::string, std::vector<std::pair<std::string, unsigned long>>> counts;
			for (const std::string &k : row_kinds)
				counts[k];
			for (const std::string &kv : split(get(r, "counts"), ',')) {
				size_t eq = kv.find('='), dot = kv.find('.');
				std::string kind = kv.substr(0, dot), op = kv.substr(dot + 1, eq - dot - 1);
				unsigned long n = strtoul(kv.c_str() + eq + 1, nullptr, 10);
				Row &kr = rows_[row_name(j.test) + "\t" + kind];
				kr.points += n;
				kr.op_points[op] += n;
				counts[kind].emplace_back(op, n);
			}
			for (auto &kc : counts) {
				rows_[row_name(j.test) + "\t" + kc.first].tests_ran.insert(j.test);
				for (const auto &p : select_points(kc.second, test_seq_++))
					pending_.push_back(
						Job{ j.test, kc.first, p.first, p.second, next_id_++, 0, {}, {}, {} });
			}
		}
		if (!j.op.empty())
			row.runs++;
		if (state == "ran" && !j.op.empty()) {
			std::string call = get(r, "call");
			if (get(r, "fired") != "1") {
				infos.push_back("not-reached");
			} else if (call == "-") {
				infos.push_back("async");
			} else if (get(r, "void") == "1") {
				infos.push_back("in-void-call");
			} else if (!call.empty()) {
				long ret = num(r, "ret"), code = num(r, "code"), expect = num(r, "expect");
				bool ambiguous = get(r, "ambiguous") == "1";
				if (ret == 0 && get(r, "retried") == "1")
					infos.push_back("recovered"); /* re-issued the failed operation, then succeeded */
				else if (ret == 0)
					(ambiguous ? infos : fails).push_back(ambiguous ? "ambiguous" : "swallowed");
				else if (ret > 0 || ret < -13)
					fails.push_back("bad-code");
				else if (code != ret || get(r, "emsg").empty())
					fails.push_back("bad-detail");
				else if (expect && ret != expect)
					infos.push_back("code-changed");
			}
		}
		total_runs_++;
		if (!fails.empty())
			row.failed++;
		for (const std::string &f : fails)
			row.fails[f]++;
		for (const std::string &i : infos)
			row.infos[i]++;

		std::string point = j.op.empty() ? "count" : j.op + ":" + std::to_string(j.nth);
		std::string cls;
		for (const std::string &f : fails)
			cls += (cls.empty() ? "" : ",") + f;
		results_ << j.test << "\t" << j.kind << "\t" << point << "\t" << (cls.empty() ? "ok" : cls)
			 << "\t" << (long)ms << "\t" << recs.substr(0, recs.find('\n')) << "\n";
		if (!fails.empty()) {
			std::string keep = work_ + "/fail/job-" + std::to_string(j.id) + ".log";
			rename(j.log_path.c_str(), keep.c_str());
			std::ostringstream d;
			d << "FAIL " << cls << ": " << j.test << " " << j.kind << ":" << point;
			if (!get(r, "call").empty())
				d << "\n    hit in " << get(r, "call") << " -> ret " << get(r, "ret") << " code "
				  << get(r, "code") << " (" << get(r, "emsg") << ")";
			if (get(r, "usable", "ok") != "ok")
				d << "\n    usable: " << get(r, "usable");
			if (std::find(fails.begin(), fails.end(), "leak") != fails.end())
				d << "\n    hvabs_alloc_count " << get(r, "alloc_base") << " -> " << get(r, "alloc_end");
			if (std::find(fails.begin(), fails.end(), "fd-leak") != fails.end())
				d << "\n    fds " << get(r, "fd_base") << " -> " << get(r, "fd_end");
			if (get(r, "backend_left", "-") != "-")
				d << "\n    " << get(r, "backend_left");
			if (!get(r, "stack").empty())
				d << "\n    stack: " << get(r, "stack");
			if (state == "error")
				d << "\n    " << get(r, "error");
			d << "\n    log: " << keep << "\n    repro: env";
			for (const std::string &e : o_.env)
				d << " " << e;
			d << " HVABS_SWEEP=" << (j.op.empty() ? "count:" + j.kind : j.kind + ":" + point) << " " << o_.bin
			  << " --gtest_filter='" << j.test << "'";
			fprintf(stderr, "%s\n", d.str().c_str());
		} else {
			unlink(j.log_path.c_str());
		}
		unlink(j.rec_path.c_str());
		if (o_.verbose && j.op.empty())
			fprintf(stderr, "%-90s %s %s\n", j.test.c_str(), j.kind.c_str(),
				state == "ran" ? get(r, "counts").c_str() : state.c_str());
	}

	int report()
	{
		double secs = std::chrono::duration<double>(Clock::now() - t0_).count();
		unsigned long points = 0, runs = 0, fails = 0;

		printf("%-28s %-6s %6s %6s %8s %8s %6s  %s\n", "backend[_kit]", "kind", "tests", "skip", "points",
		       "swept", "fails", "notes");
		for (auto &kv : rows_) {
			const Row &row = kv.second;
			unsigned long f = row.failed;
			std::string notes;
			for (auto &fc : row.fails)
				notes += fc.first + "=" + std::to_string(fc.second) + " ";
			for (auto &ic : row.infos)
				notes += "(" + ic.first + "=" + std::to_string(ic.second) + ") ";
			std::string name = kv.first;
			size_t tab = name.find('\t');
			printf("%-28s %-6s %6zu %6zu %8lu %8lu %6lu  %s\n", name.substr(0, tab).c_str(),
			       name.substr(tab + 1).c_str(), row.tests_ran.size(), row.tests_skipped.size(),
			       row.points, row.runs, f, notes.c_str());
			std::string ops;
			for (auto &op : row.op_points)
				if (op.second)
					ops += op.first + "=" + std::to_string(op.second) + " ";
			if (!ops.empty())
				printf("%-28s %-6s points by op: %s\n", "", "", ops.c_str());
			points += row.points;
			runs += row.runs;
			fails += f;
		}
		printf("sweep: %lu injection points found, %lu swept (%lu processes, stride %lu), %lu failures, "
		       "%.1f s\n",
		       points, runs, total_runs_, o_.stride, fails, secs);
		/* The plain closing line CI tools read. */
		printf("%lu passed, %lu failed\n", runs - std::min(runs, fails), fails);
		if (fails)
			printf("results and logs: %s\n", work_.c_str());
		results_.close();
		if (!keep_ && !fails) {
			unlink((work_ + "/results.tsv").c_str());
			rmdir((work_ + "/fail").c_str());
			rmdir(work_.c_str());
		}
		if (fails)
			return 1;
		size_t ran = 0;
		for (auto &kv : rows_)
			ran += kv.second.tests_ran.size();
		if (!ran) {
			/* Every selected test skipped (e.g. no usable /dev/kvm): ctest's SKIP_RETURN_CODE. */
			fprintf(stderr, "hvabs_sweep: no injection point was swept (every test skipped)\n");
			return 77;
		}
		return 0;
	}

	Options o_;
	std::deque<Job> pending_;
	int next_id_ = 1;
	std::map<std::string, Row> rows_;
	unsigned long total_runs_ = 0;
	unsigned long test_seq_ = 0;
	std::string work_;
	bool keep_ = false;
	std::ofstream results_;
	Clock::time_point t0_;
};

} /* namespace */

int main(int argc, char **argv)
{
	Options o;

	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto val = [&]() -> std::string {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s needs a value\n%s", a.c_str(), kUsage);
				exit(2);
			}
			return argv[++i];
		};
		if (a == "--bin")
			o.bin = val();
		else if (a == "--kind")
			for (const std::string &k : split(val(), ','))
				o.kinds.push_back(k);
		else if (a == "--filter")
			o.filter = val();
		else if (a == "--stride")
			o.stride = std::max(1ul, strtoul(val().c_str(), nullptr, 10));
		else if (a == "--max-points")
			o.max_points = strtoul(val().c_str(), nullptr, 10);
		else if (a == "--jobs")
			o.jobs = std::max(1, atoi(val().c_str()));
		else if (a == "--timeout")
			o.timeout = std::max(1, atoi(val().c_str()));
		else if (a == "--env")
			o.env.push_back(val());
		else if (a == "--label")
			o.label = val();
		else if (a == "--out")
			o.out = val();
		else if (a == "--wrapper")
			o.wrapper = split(val(), ' ');
		else if (a == "--verbose")
			o.verbose = true;
		else if (a == "--help" || a == "-h") {
			fputs(kUsage, stdout);
			return 0;
		} else {
			fprintf(stderr, "unknown option %s\n%s", a.c_str(), kUsage);
			return 2;
		}
	}
	if (o.bin.empty() || o.kinds.empty()) {
		fputs(kUsage, stderr);
		return 2;
	}
	return Sweep(o).run();
}
