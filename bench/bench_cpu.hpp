// CPU time of this process and of its named threads, for benchmarks that
// report CPU per operation (steadier than throughput on a shared machine).
#pragma once

#include <pthread.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace hiegate::bench {

/// CPU seconds of the whole process so far.
inline double process_cpu() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// CPU seconds (user + system, clock-tick resolution) of one line of
/// /proc/.../stat; 0 if it cannot be read.
inline double stat_cpu(const std::filesystem::path& stat_file) {
  std::ifstream stat(stat_file);
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 > line.size()) return 0;
  std::istringstream fields(line.substr(paren + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; fields >> f && i <= 15; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(f);  // utime, stime
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// CPU seconds of process `pid`, including its threads that have ended.
inline double process_cpu_of(long pid) { return stat_cpu("/proc/" + std::to_string(pid) + "/stat"); }

/// CPU seconds of the live threads of process `pid` ("self": this one),
/// summed by thread name (as pthread_setname_np set it; the main thread's is
/// the program's). Threads that ended are not counted: use process_cpu_of
/// for a process that starts threads per connection. Empty if it is gone.
inline std::map<std::string, double> threads_cpu(const std::string& pid = "self") {
  std::map<std::string, double> out;
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator("/proc/" + pid + "/task", ec)) {
    std::ifstream comm(t.path() / "comm");
    std::string n;
    std::getline(comm, n);
    out[n] += stat_cpu(t.path() / "stat");
  }
  return out;
}

/// CPU seconds of this process's threads named `name`.
inline double thread_cpu(const std::string& name) {
  const auto all = threads_cpu();
  const auto it = all.find(name);
  return it == all.end() ? 0.0 : it->second;
}

/// Names the calling thread (at most 15 characters).
inline void name_thread(const char* name) { ::pthread_setname_np(::pthread_self(), name); }

}  // namespace hiegate::bench
