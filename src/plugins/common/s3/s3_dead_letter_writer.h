// A DLQ target in an S3 bucket: each entry is stored as one object
// `<prefix><pipeline_id>/<key time>.<writer id>.<seq>.json` holding its JSON line (the format of
// format_dead_letter_entry). write() returns Stored only once the PUT succeeded (with a few quick
// retries of the same key), so the event may then be acknowledged. Meant for low DLQ volumes: one
// request per entry. Selected by `dead_letter_queue.type: s3` (make_dead_letter_writer).
//
// The key time (epoch nanoseconds, zero-padded to 20 digits) is taken when the upload starts, not
// when the event failed, so keys sort in upload order and an object becomes visible at most
// kDeadLetterUploadWindow after its key time: the dead_letter_queue input reads a key only once it
// is older than its `settle_time`, so it never passes over an entry still being uploaded.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "plugins/common/s3/s3_client.h"
#include "runtime/dlq.h"
#include "runtime/metrics.h"
#include "runtime/plugin.h"

namespace sluice::s3 {

// Longest time from an upload's start to its last attempt's end (3 attempts of at most 10 s,
// plus the pauses between them).
constexpr std::chrono::seconds kDeadLetterUploadWindow{32};

class S3DeadLetterWriter final : public DeadLetterWriter {
 public:
  S3DeadLetterWriter(S3Settings settings, std::string prefix, std::string pipeline_id, int attempts = 3,
                     DeadLetterQueueMetrics* metrics = nullptr);

  DeadLetterResult write(const Event& event, std::string_view plugin_type, std::string_view plugin_id,
                         std::string_view reason, Timestamp entry_time) override;
  using DeadLetterWriter::write;

  const std::string& key_prefix() const { return key_prefix_; }  // <prefix><pipeline_id>/

 private:
  std::mutex mutex_;  // one client, one request at a time
  S3Client client_;
  std::string key_prefix_;
  std::string writer_id_;
  int attempts_;
  DeadLetterQueueMetrics* metrics_;
  uint64_t sequence_ = 0;
  std::string line_;
};

// The S3 settings of `dead_letter_queue.s3.*` (bucket, region, endpoint, credentials), with the
// request timeouts kDeadLetterUploadWindow assumes.
S3Settings dead_letter_s3_settings(const DeadLetterQueueSettings& settings);

// The key time of a DLQ object key (the 20 digits after `key_prefix`); nullopt when it has none.
std::optional<int64_t> dead_letter_key_nanos(std::string_view key, std::string_view key_prefix);

}  // namespace sluice::s3
