// The `plain` codec: a whole chunk is one event's message (for inputs whose transport
// frames messages); encoding prints `format` or Logstash's default "@timestamp host message".
#include "core/event_clock.h"
#include "core/event_pool.h"
#include "core/sprintf.h"
#include "plugins/codecs/codec_support.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

using namespace codec_support;

PluginSchema plain_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Codec;
  schema.name = "plain";
  schema.doc = "Plain text with no delimiting between events: each decoded chunk is one event.";
  schema.options = {
      charset_option(),
      option("format", OptionType::String, std::nullopt,
             "sprintf format used when encoding; default: \"@timestamp host message\"."),
      ecs_option(),
  };
  return schema;
}

const FieldRef kMessage = FieldRef::of("message");
const FieldRef kEventOriginal = FieldRef::of("[event][original]");

class PlainCodec final : public Codec {
 public:
  PlainCodec(const Options& options, const PluginContext& ctx)
      : charset_(charset_of(options)), ecs_(ecs_enabled(options, ctx)) {
    if (options.has("format")) format_ = Template(options.get_string("format")), has_format_ = true;
  }

  void decode(std::string_view data, EventSink& sink) override {
    std::string_view text = to_utf8(charset_, data, scratch_);
    Event* event = new_event();
    event->init_with_message(text, event_clock::now());
    // ECS mode keeps the untouched text in [event][original], as Logstash's plain codec does.
    if (ecs_) event->put(kEventOriginal).set_string(text);
    sink.accept(event);
  }

  void encode(const Event& event, std::string& out) override {
    if (has_format_) format_.render(event, out);
    else append_event_text(out, event);
  }

  std::unique_ptr<Codec> clone() const override { return std::make_unique<PlainCodec>(*this); }
  bool decodes_units_independently() const override { return true; }

 private:
  Charset charset_;
  bool ecs_;
  bool has_format_ = false;
  Template format_;
  std::string scratch_;
};

const RegisterCodec registration{plain_schema(), [](const Options& options, PluginContext& ctx) {
                                   return std::make_unique<PlainCodec>(options, ctx);
                                 }};

}  // namespace
}  // namespace sluice
