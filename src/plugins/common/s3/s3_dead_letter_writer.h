// A DLQ target in an S3 bucket: each entry is stored as one object
// `<prefix><pipeline_id>/<entry time>.<writer id>.<seq>.json` holding its JSON line (the format of
// format_dead_letter_entry). write() returns Stored only once the PUT succeeded (with a few quick
// retries), so the event may then be acknowledged. Meant for low DLQ volumes: one request per entry.
// Not wired into the settings yet (dead_letter_queue.* belongs to the DLQ owner): construct it
// directly, or from make_dead_letter_writer once a setting selects it.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "plugins/common/s3/s3_client.h"
#include "runtime/dlq.h"

namespace sluice::s3 {

class S3DeadLetterWriter final : public DeadLetterWriter {
 public:
  S3DeadLetterWriter(S3Settings settings, std::string prefix, std::string pipeline_id, int attempts = 3);

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
  uint64_t sequence_ = 0;
  std::string line_;
};

}  // namespace sluice::s3
