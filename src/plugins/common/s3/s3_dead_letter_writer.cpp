#include "plugins/common/s3/s3_dead_letter_writer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "runtime/logging.h"

namespace sluice::s3 {

S3DeadLetterWriter::S3DeadLetterWriter(S3Settings settings, std::string prefix, std::string pipeline_id, int attempts,
                                       DeadLetterQueueMetrics* metrics)
    : client_(std::move(settings)),
      key_prefix_(std::move(prefix) + pipeline_id + "/"),
      attempts_(std::max(1, attempts)),
      metrics_(metrics) {
  std::random_device random;
  writer_id_ = fmt::format("{}.{:08x}", ::getpid(), random());
}

DeadLetterResult S3DeadLetterWriter::write(const Event& event, std::string_view plugin_type,
                                           std::string_view plugin_id, std::string_view reason, Timestamp entry_time) {
  std::lock_guard lock(mutex_);
  line_.clear();
  format_dead_letter_entry(line_, event, plugin_type, plugin_id, reason, entry_time);
  // The key time is now (after waiting for the lock), so keys sort in upload order; every attempt
  // uses the same key, so a retry after a lost answer cannot store the entry twice.
  std::string key = fmt::format("{}{:020}.{}.{}.json", key_prefix_, Timestamp::now().nanos, writer_id_, sequence_++);
  S3Result result;
  for (int attempt = 0; attempt < attempts_; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
    result = client_.put_object(key, line_, {{"Content-Type", "application/json"}});
    if (result.ok()) {
      if (metrics_) {
        metrics_->events_written.fetch_add(1, std::memory_order_relaxed);
        metrics_->queue_size_bytes.fetch_add(line_.size(), std::memory_order_relaxed);
      }
      return DeadLetterResult::Stored;
    }
    if (!result.retryable()) break;
  }
  std::string message = fmt::format("DLQ: cannot store {} in s3://{}: {}", key, client_.bucket(), result.describe());
  logging::get("dlq.s3")->error("{}", message);
  if (metrics_) metrics_->set_last_error(message);
  return DeadLetterResult::Failed;
}

S3Settings dead_letter_s3_settings(const DeadLetterQueueSettings& settings) {
  S3Settings s3_settings;
  s3_settings.bucket = settings.s3_bucket;
  s3_settings.region = settings.s3_region;
  s3_settings.endpoint = settings.s3_endpoint;
  while (s3_settings.endpoint.ends_with('/')) s3_settings.endpoint.pop_back();
  s3_settings.credentials.access_key_id = settings.s3_access_key_id;
  s3_settings.credentials.secret_access_key = settings.s3_secret_access_key;
  s3_settings.http.connect_timeout_ms = 5000;
  s3_settings.http.timeout_ms = 10000;
  return s3_settings;
}

std::optional<int64_t> dead_letter_key_nanos(std::string_view key, std::string_view key_prefix) {
  if (!key.starts_with(key_prefix) || key.size() < key_prefix.size() + 20) return std::nullopt;
  int64_t nanos = 0;
  for (char c : key.substr(key_prefix.size(), 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    nanos = nanos * 10 + (c - '0');
  }
  return nanos;
}

}  // namespace sluice::s3
