// The stdout output: encodes a batch with its codec (rubydebug by default) into one reused
// buffer and writes it to standard output before write() returns.
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema stdout_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Output;
  schema.name = "stdout";
  schema.doc = "Prints events to standard output, encoded with the codec (rubydebug by default).";
  OptionSpec codec;
  codec.name = "codec";
  codec.type = OptionType::Codec;
  codec.default_value = cv_string("rubydebug");
  codec.doc = "The codec that encodes events for the output.";
  schema.options.push_back(codec);
  return schema;
}

// Writes all of `data` to fd; false on an error other than EINTR/EAGAIN (e.g. EPIPE).
bool write_fully(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n > 0) {
      data += n;
      size -= size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd waiter{fd, POLLOUT, 0};
      ::poll(&waiter, 1, 1000);  // stdout was made non-blocking by someone else: wait for room
      continue;
    }
    return false;
  }
  return true;
}

class StdoutOutput : public Output {
 public:
  StdoutOutput(const Options& options, PluginContext& context)
      : codec_(context.make_codec(options.get_codec())), metrics_(context.metrics) {}

  void write(std::span<Event* const> events) override {
    buffer_.clear();
    for (Event* event : events) {
      if (!event->cancelled()) codec_->encode(*event, buffer_);
    }
    if (buffer_.empty()) return;
    if (!write_fully(STDOUT_FILENO, buffer_.data(), buffer_.size())) {
      int error = errno;
      if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
      if (!reported_) {
        reported_ = true;  // a closed stdout would otherwise log on every batch
        logging::get("output.stdout")->error("cannot write to stdout: {}", std::strerror(error));
      }
    }
    // Big one-off batches should not pin their memory for the rest of the run.
    if (buffer_.capacity() > (8u << 20)) std::string().swap(buffer_);
  }

 private:
  std::unique_ptr<Codec> codec_;
  PluginMetrics* metrics_;
  std::string buffer_;
  bool reported_ = false;
};

const RegisterOutput registration{stdout_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<StdoutOutput>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
