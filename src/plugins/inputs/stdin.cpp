// The `stdin` input: decodes standard input with its codec (`line` by default) until EOF, then
// ends (a finite input), as Logstash's stdin input does; sets the host name on each event.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/field_ref.h"
#include "runtime/logging.h"
#include "runtime/registry.h"

namespace sluice {

namespace {

constexpr size_t kReadSize = 64 * 1024;
constexpr int kPollMillis = 100;  // how often a blocked read looks for a stop request

std::string local_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

class StdinInput final : public Input {
 public:
  StdinInput(const Options& options, PluginContext& ctx, int fd = 0) : fd_(fd) {
    std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                                                       : (ctx.settings ? ctx.settings->ecs_compatibility : "v8");
    // Logstash's stdin input: `host` without ECS, `[host][hostname]` with it.
    host_ref_ = FieldRef::of(ecs == "disabled" ? "host" : "[host][hostname]");
    codec_ = ctx.make_codec(options.get_codec());
    host_ = local_host_name();
  }

  void run(InputContext& ctx) override {
    class Sink final : public EventSink {
     public:
      Sink(StdinInput& input, InputContext& ctx) : input_(input), ctx_(ctx) {}
      void accept(Event* event) override {
        // Set only when the codec did not (a json line may carry its own host).
        if (!event->get(input_.host_ref_)) event->put(input_.host_ref_).set_string(input_.host_);
        if (!ctx_.push(event)) refused = true;
      }
      bool refused = false;

     private:
      StdinInput& input_;
      InputContext& ctx_;
    };
    Sink sink(*this, ctx);
    std::vector<char> buffer(kReadSize);
    auto log = logging::get("sluice.inputs.stdin");
    while (!sink.refused && !stopping(ctx)) {
      pollfd pfd{fd_, POLLIN, 0};
      int ready = ::poll(&pfd, 1, kPollMillis);
      if (ready < 0 && errno != EINTR) {
        log->error("cannot poll stdin: {}", std::strerror(errno));
        break;
      }
      if (ready <= 0) {
        ctx.flush();
        continue;
      }
      ssize_t got = ::read(fd_, buffer.data(), buffer.size());
      if (got < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        log->error("cannot read stdin: {}", std::strerror(errno));
        break;
      }
      if (got == 0) break;  // EOF: the input is done
      codec_->decode(std::string_view(buffer.data(), size_t(got)), sink);
      ctx.flush();
    }
    codec_->flush(sink);  // a last line without newline
    ctx.flush();
  }

  void stop() override { stop_requested_.store(true, std::memory_order_relaxed); }

 private:
  bool stopping(InputContext& ctx) const { return stop_requested_.load(std::memory_order_relaxed) || ctx.stopping(); }

  int fd_;
  FieldRef host_ref_;
  std::unique_ptr<Codec> codec_;
  std::string host_;
  std::atomic<bool> stop_requested_{false};
};

PluginSchema stdin_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "stdin";
  schema.doc =
      "Reads events from standard input, one line each by default, until end of input (then the input is done). "
      "Sets the host name in `host` (`[host][hostname]` under ECS).";
  OptionSpec codec;
  codec.name = "codec";
  codec.type = OptionType::Codec;
  codec.default_value = cv_string("line");
  codec.doc = "The codec that decodes standard input (default `line`).";
  OptionSpec ecs;
  ecs.name = "ecs_compatibility";
  ecs.type = OptionType::String;
  ecs.allowed = {"disabled", "v1", "v8"};
  ecs.doc = "`disabled`: field `host`; `v1`, `v8`: `[host][hostname]`. Default: pipeline.ecs_compatibility.";
  schema.options = {codec, ecs};
  return schema;
}

const RegisterInput kRegisterStdin{stdin_schema(), [](const Options& options, PluginContext& ctx) -> std::unique_ptr<Input> {
                                     return std::make_unique<StdinInput>(options, ctx);
                                   }};

}  // namespace

}  // namespace sluice
