// The `line` codec: decodes a byte stream into one event per delimited line (keeping a
// partial last line until more data or flush); encodes `format` (or Logstash's default
// event text) followed by the delimiter.
#include "core/event_clock.h"
#include "core/event_pool.h"
#include "core/sprintf.h"
#include "plugins/codecs/codec_support.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

using namespace codec_support;

PluginSchema line_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Codec;
  schema.name = "line";
  schema.doc = "Line-oriented text: each delimited line is one event; encoding appends the delimiter.";
  schema.options = {
      charset_option(),
      option("delimiter", OptionType::String, cv_string("\n"), "The text that separates lines."),
      option("format", OptionType::String, std::nullopt,
             "sprintf format used when encoding; default: \"@timestamp host message\"."),
      ecs_option(),
  };
  return schema;
}

class LineCodec final : public Codec {
 public:
  explicit LineCodec(const Options& options)
      : charset_(charset_of(options)), delimiter_(options.get_string("delimiter")), splitter_(delimiter_) {
    if (delimiter_.empty()) {
      throw config::ConfigError(options.position("delimiter"), "codec line: delimiter must not be empty");
    }
    if (options.has("format")) format_ = Template(options.get_string("format")), has_format_ = true;
  }
  LineCodec(const LineCodec& o)
      : charset_(o.charset_), delimiter_(o.delimiter_), splitter_(o.delimiter_), has_format_(o.has_format_),
        format_(o.format_) {}

  void decode(std::string_view data, EventSink& sink) override {
    const Timestamp now = Timestamp::now();  // one clock read per chunk
    splitter_.split(data, [&](std::string_view line) { emit(line, now, sink); });
  }

  // A unit framed by the input (a file line, a datagram) is one line as it is.
  void decode_unit(std::string_view unit, EventSink& sink) override { emit(unit, event_clock::now(), sink); }

  void flush(EventSink& sink) override {
    if (!splitter_.has_pending()) return;
    std::string rest = splitter_.take_pending();
    emit(rest, Timestamp::now(), sink);
  }

  void encode(const Event& event, std::string& out) override {
    if (has_format_) format_.render(event, out);
    else append_event_text(out, event);
    out += delimiter_;
  }

  std::unique_ptr<Codec> clone() const override { return std::make_unique<LineCodec>(*this); }
  bool decodes_units_independently() const override { return true; }

 private:
  void emit(std::string_view line, Timestamp now, EventSink& sink) {
    Event* event = new_event();
    event->init_with_message(to_utf8(charset_, line, scratch_), now);
    sink.accept(event);
  }

  Charset charset_;
  std::string delimiter_;
  LineSplitter splitter_;
  bool has_format_ = false;
  Template format_;
  std::string scratch_;
};

const RegisterCodec registration{line_schema(), [](const Options& options, PluginContext&) {
                                   return std::make_unique<LineCodec>(options);
                                 }};

}  // namespace
}  // namespace sluice
