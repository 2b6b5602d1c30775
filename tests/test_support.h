// Shared helpers for the tests: temp dirs, free ports, child processes, the ../shared corpus.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sluice::test {

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);
std::vector<std::string> read_lines(const std::string& path);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

// The built sluice binary, and ../shared (nullopt when absent: tests that need it skip, saying so).
std::string sluice_binary();
std::optional<std::filesystem::path> shared_dir();

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out, err;
};
// Runs argv (no shell), feeding `input` on stdin; kills it after `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "",
                          std::chrono::seconds timeout = std::chrono::seconds(60));

// A background child process (servers, sluice itself), killed (SIGKILL) on destruction unless stopped.
class Child {
 public:
  // stdout/stderr go to the given files ("" = /dev/null).
  Child(const std::vector<std::string>& argv, const std::string& stdout_path = "",
        const std::string& stderr_path = "");
  ~Child();
  Child(const Child&) = delete;
  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits for exit up to timeout; returns the exit code, or nullopt if still running.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Polls `probe` every 20 ms until it returns true or the timeout passes.
bool wait_until(const std::function<bool()>& probe, std::chrono::milliseconds timeout);
// True when something accepts TCP connections on 127.0.0.1:port.
bool port_open(int port);

}  // namespace sluice::test
