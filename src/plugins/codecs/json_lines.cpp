// The `json_lines` codec: newline-delimited JSON. Decoding keeps a partial last line until
// more data arrives; a line longer than decode_size_limit_bytes becomes one event tagged
// `_jsonparsetoobigfailure` (and the rest of that line is skipped). Encoding writes the
// event's JSON followed by the delimiter.
#include "core/event_clock.h"
#include "core/json.h"

#include "plugins/codecs/codec_support.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

using namespace codec_support;

constexpr double kDefaultSizeLimit = 512.0 * 1024 * 1024;
constexpr size_t kTooBigMessageBytes = 1024;  // how much of an oversized line the failure event keeps

PluginSchema json_lines_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Codec;
  schema.name = "json_lines";
  schema.doc = "Newline-delimited JSON: each line is one document; encoding appends the delimiter.";
  schema.options = {
      charset_option(),
      option("delimiter", OptionType::String, cv_string("\n"), "The text that separates documents."),
      option("target", OptionType::String, std::nullopt, "Field to put each decoded document under."),
      option("decode_size_limit_bytes", OptionType::Number, cv_number(kDefaultSizeLimit),
             "Longest line accepted when decoding, in bytes."),
      ecs_option(),
  };
  return schema;
}

class JsonLinesCodec final : public Codec {
 public:
  explicit JsonLinesCodec(const Options& options)
      : charset_(charset_of(options)),
        delimiter_(options.get_string("delimiter")),
        splitter_(delimiter_),
        decoder_(target_of(options)) {
    if (delimiter_.empty()) {
      throw config::ConfigError(options.position("delimiter"), "codec json_lines: delimiter must not be empty");
    }
    double limit = options.get_number("decode_size_limit_bytes");
    if (!(limit >= 1)) {
      throw config::ConfigError(options.position("decode_size_limit_bytes"),
                                "codec json_lines: decode_size_limit_bytes must be positive");
    }
    size_limit_ = limit >= 1e18 ? size_t(1e18) : size_t(limit);
  }
  JsonLinesCodec(const JsonLinesCodec& o)
      : charset_(o.charset_), delimiter_(o.delimiter_), splitter_(o.delimiter_), decoder_(o.decoder_),
        size_limit_(o.size_limit_) {}

  void decode(std::string_view data, EventSink& sink) override {
    const Timestamp now = Timestamp::now();
    if (skipping_) {
      // Dropping the rest of an oversized line up to its delimiter.
      size_t end = data.find(delimiter_);
      if (end == std::string_view::npos) return;
      skipping_ = false;
      data.remove_prefix(end + delimiter_.size());
    }
    splitter_.split(data, [&](std::string_view line) { decode_line(line, now, sink); });
    if (splitter_.pending_size() > size_limit_) {
      std::string head = splitter_.take_pending();
      head.resize(std::min(head.size(), kTooBigMessageBytes));
      Event* event = new_event();
      event->init_with_message(to_utf8(charset_, head, scratch_), now);
      event->add_tag("_jsonparsetoobigfailure");
      sink.accept(event);
      skipping_ = true;
    }
  }

  void decode_unit(std::string_view unit, EventSink& sink) override { decode_line(unit, event_clock::now(), sink); }

  // Logstash drops an unterminated last line; decoding it loses nothing and is what users expect.
  void flush(EventSink& sink) override {
    if (!splitter_.has_pending()) return;
    std::string rest = splitter_.take_pending();
    decode_line(rest, Timestamp::now(), sink);
  }

  void encode(const Event& event, std::string& out) override {
    json_append_event(out, event);
    out += delimiter_;
  }

  std::unique_ptr<Codec> clone() const override { return std::make_unique<JsonLinesCodec>(*this); }
  bool decodes_units_independently() const override { return true; }

 private:
  void decode_line(std::string_view line, Timestamp now, EventSink& sink) {
    if (line.size() > size_limit_) {
      Event* event = new_event();
      event->init_with_message(to_utf8(charset_, line.substr(0, kTooBigMessageBytes), scratch_), now);
      event->add_tag("_jsonparsetoobigfailure");
      sink.accept(event);
      return;
    }
    decoder_.decode(to_utf8(charset_, line, scratch_), now, sink);
  }

  Charset charset_;
  std::string delimiter_;
  LineSplitter splitter_;
  JsonEventDecoder decoder_;
  size_t size_limit_ = 0;
  bool skipping_ = false;
  std::string scratch_;
};

const RegisterCodec registration{json_lines_schema(), [](const Options& options, PluginContext&) {
                                   return std::make_unique<JsonLinesCodec>(options);
                                 }};

}  // namespace
}  // namespace sluice
