#include "plugins/common/s3/s3_dead_letter_writer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "runtime/logging.h"

namespace sluice::s3 {

S3DeadLetterWriter::S3DeadLetterWriter(S3Settings settings, std::string prefix, std::string pipeline_id, int attempts)
    : client_(std::move(settings)), key_prefix_(std::move(prefix) + pipeline_id + "/"), attempts_(std::max(1, attempts)) {
  std::random_device random;
  writer_id_ = fmt::format("{}.{:08x}", ::getpid(), random());
}

DeadLetterResult S3DeadLetterWriter::write(const Event& event, std::string_view plugin_type,
                                           std::string_view plugin_id, std::string_view reason, Timestamp entry_time) {
  std::lock_guard lock(mutex_);
  line_.clear();
  format_dead_letter_entry(line_, event, plugin_type, plugin_id, reason, entry_time);
  // Keys sort by entry time (nanoseconds, zero-padded), so a reader lists them in order.
  std::string key = fmt::format("{}{:020}.{}.{}.json", key_prefix_, entry_time.nanos, writer_id_, sequence_++);
  S3Result result;
  for (int attempt = 0; attempt < attempts_; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
    result = client_.put_object(key, line_, {{"Content-Type", "application/json"}});
    if (result.ok()) return DeadLetterResult::Stored;
    if (!result.retryable()) break;
  }
  logging::get("dlq.s3")->error("DLQ: cannot store {} in s3://{}: {}", key, client_.bucket(), result.describe());
  return DeadLetterResult::Failed;
}

}  // namespace sluice::s3
