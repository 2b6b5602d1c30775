// The file input: Logstash's `file` (tail and read modes) with end-to-end acknowledgement.
//
// Lines are grouped into chunks (at most max_chunk_lines lines of one read buffer); every event
// of a chunk holds the chunk's AckToken. A file's sincedb position advances only over the
// contiguous prefix of fully acknowledged chunks, so a crash re-reads (never skips) what was
// not confirmed by every output. Reading pauses while max_in_flight_lines lines were read since
// the oldest unacknowledged chunk, which bounds what a crash can make it read twice. The sincedb is written
// every sincedb_write_interval by a background thread (0: by the acknowledging thread, as soon
// as a position advances) and at the end of run().
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "plugins/inputs/file/sincedb.h"
#include "runtime/plugin.h"

namespace sluice::file_input {

struct FileInputConfig {
  std::vector<std::string> paths;        // absolute globs
  std::vector<std::string> exclude;      // globs on the file name
  bool read_mode = false;                // mode => read
  bool start_at_beginning = false;       // start_position => beginning (tail mode, first contact)
  std::string sincedb_path;              // "" or "/dev/null": keep no positions
  double sincedb_write_interval = 15;    // seconds; 0 = whenever a position advances
  double sincedb_clean_after = 14 * 86400.0;
  double stat_interval = 1;              // seconds
  double discover_interval = 15;         // in stat intervals, as Logstash counts it
  double close_older = 3600;             // tail mode: close files idle this long (0 = never)
  double ignore_older = 0;               // skip files not modified for this long (0 = off)
  std::string delimiter = "\n";
  bool completed_delete = true;          // read mode file_completed_action
  bool completed_log = false;
  std::string completed_log_path;
  bool exit_after_read = false;
  size_t max_open_files = 4095;
  size_t file_chunk_size = 32768;        // bytes per read (raised to 64 KiB at least)
  uint64_t file_chunk_count = std::numeric_limits<uint64_t>::max();  // reads per file per pass
  bool sort_by_path = false;             // file_sort_by => path (else last_modified)
  bool sort_descending = false;
  bool check_archive_validity = false;   // read mode: test a gzip archive whole before reading it
  bool ecs = true;                       // [log][file][path] + [host][name], else path + host
  std::string host;                      // this machine's name
  size_t max_chunk_lines = 256;          // lines per acknowledged chunk
  size_t max_in_flight_lines = 16384;    // reading waits while this many lines are not settled (see above)
  double stop_ack_wait = 10;             // at stop: seconds to wait for in-flight chunks' acks
  size_t max_line_bytes = 32u << 20;     // a longer unfinished line is emitted as it is
};

class FileInput final : public Input {
 public:
  FileInput(FileInputConfig config, std::unique_ptr<Codec> codec);
  ~FileInput() override;
  void run(InputContext& ctx) override;
  void stop() override;

  // The positions the sincedb would hold now (acknowledged bytes only).
  std::vector<SincedbEntry> positions() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Builds the configuration from validated options; throws config::ConfigError for values
// Logstash rejects (relative paths, a sincedb_path that is a directory, bad durations...).
FileInputConfig make_file_input_config(const Options& options, const PluginContext& ctx);

}  // namespace sluice::file_input
