// CPU time of this process and of its named threads, for benchmarks that
// report CPU per operation (steadier than throughput on a shared machine).
#pragma once

#include <pthread.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace hiegate::bench {

/// CPU seconds of the whole process so far.
inline double process_cpu() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// CPU seconds (user + system, clock-tick resolution) of this process's
/// threads named `name` (as pthread_setname_np set it).
inline double thread_cpu(const std::string& name) {
  double total = 0;
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(t.path() / "comm");
    std::string n;
    std::getline(comm, n);
    if (n != name) continue;
    std::ifstream stat(t.path() / "stat");
    std::string line;
    std::getline(stat, line);
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string f;
    double ticks = 0;
    for (int i = 3; fields >> f && i <= 15; ++i) {
      if (i == 14 || i == 15) ticks += std::stod(f);  // utime, stime
    }
    total += ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  return total;
}

/// Names the calling thread (at most 15 characters).
inline void name_thread(const char* name) { ::pthread_setname_np(::pthread_self(), name); }

}  // namespace hiegate::bench
