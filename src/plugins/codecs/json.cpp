// The `json` codec: one JSON document per chunk (an array gives one event per element;
// invalid JSON gives the raw text tagged `_jsonparsefailure`); encodes the event as one
// JSON object without a delimiter, @metadata left out.
#include "core/json.h"

#include "plugins/codecs/codec_support.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

using namespace codec_support;

PluginSchema json_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Codec;
  schema.name = "json";
  schema.doc = "Full JSON documents: each decoded chunk is one document; encoding writes one JSON object.";
  schema.options = {
      charset_option(),
      option("target", OptionType::String, std::nullopt, "Field to put the decoded document under."),
      ecs_option(),
  };
  return schema;
}

class JsonCodec final : public Codec {
 public:
  explicit JsonCodec(const Options& options) : charset_(charset_of(options)), decoder_(target_of(options)) {}

  void decode(std::string_view data, EventSink& sink) override {
    decoder_.decode(to_utf8(charset_, data, scratch_), Timestamp::now(), sink);
  }

  void encode(const Event& event, std::string& out) override { json_append_event(out, event); }

  std::unique_ptr<Codec> clone() const override { return std::make_unique<JsonCodec>(*this); }
  bool decodes_units_independently() const override { return true; }

 private:
  Charset charset_;
  JsonEventDecoder decoder_;
  std::string scratch_;
};

const RegisterCodec registration{json_schema(), [](const Options& options, PluginContext&) {
                                   return std::make_unique<JsonCodec>(options);
                                 }};

}  // namespace
}  // namespace sluice
