// The cef codec: decodes ArcSight CEF records (one per `delimiter`-separated line, or one per
// chunk without a delimiter) into events, ECS or legacy field names; encodes events as CEF
// with a templated header and the `fields` as extensions. Invalid records become an event with
// the text in `message` and the tag `_cefparsefailure`, as in Logstash.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/charset.h"
#include "core/event_pool.h"
#include "plugins/codecs/cef/cef_format.h"
#include "plugins/codecs/codec_support.h"
#include "plugins/filters/date/date_parser.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

using namespace codec_support;

PluginSchema cef_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Codec;
  schema.name = "cef";
  schema.doc =
      "ArcSight Common Event Format. Decoding reads `CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|"
      "key=value ...` (optionally after a syslog header) into ECS fields (or the CEF names with ECS disabled); "
      "encoding writes the header from the templates below and `fields` as extensions.";
  auto device = option("device", OptionType::String, cv_string("observer"),
                       "ECS: whether device fields describe the `observer` or the `host`.");
  device.allowed = {"observer", "host"};
  schema.options = {
      option("vendor", OptionType::String, cv_string("Elasticsearch"), "Device vendor header field (sprintf)."),
      option("product", OptionType::String, cv_string("Logstash"), "Device product header field (sprintf)."),
      option("version", OptionType::String, cv_string("1.0"), "Device version header field (sprintf)."),
      option("signature", OptionType::String, cv_string("Logstash"), "Signature ID header field (sprintf)."),
      option("name", OptionType::String, cv_string("Logstash"), "Name header field (sprintf)."),
      option("severity", OptionType::String, cv_string("6"),
             "Severity header field (sprintf); an integer 0-10, anything else becomes 6."),
      option("fields", OptionType::Array, cv_array({}), "Fields written as extensions when encoding."),
      option("reverse_mapping", OptionType::Boolean, cv_bool(false),
             "Encode with the short CEF keys (src) instead of the full names (sourceAddress)."),
      option("delimiter", OptionType::String, std::nullopt,
             "Splits the input into records (`\\r` and `\\n` are carriage return and newline); appended when "
             "encoding."),
      option("raw_data_field", OptionType::String, std::nullopt, "Keep the raw record in this field."),
      device,
      option("default_timezone", OptionType::String, std::nullopt,
             "ECS: zone of CEF timestamps that carry none (default UTC)."),
      option("locale", OptionType::String, std::nullopt, "Locale of month names in timestamps (English)."),
      ecs_option(),
  };
  return schema;
}

cef::FormatSettings format_settings(const Options& options, const PluginContext& context) {
  cef::FormatSettings settings;
  settings.ecs = ecs_enabled(options, context);
  settings.device = options.get_string("device");
  settings.reverse_mapping = options.get_bool("reverse_mapping");
  if (options.has("default_timezone")) {
    const std::string zone = options.get_string("default_timezone");
    if (!date::load_zone(zone, settings.default_zone)) {
      throw config::ConfigError(options.position("default_timezone"), "codec cef: unknown time zone `" + zone + "`");
    }
  }
  return settings;
}

class CefCodec final : public Codec {
 public:
  CefCodec(const Options& options, const PluginContext& context)
      : format_(std::make_shared<cef::Format>(format_settings(options, context))) {
    if (options.has("delimiter")) {
      // Logstash's config has no escapes here: the codec reads \r and \n itself.
      std::string delimiter = options.get_string("delimiter");
      std::string decoded;
      for (size_t i = 0; i < delimiter.size(); ++i) {
        if (delimiter[i] == '\\' && i + 1 < delimiter.size() && (delimiter[i + 1] == 'r' || delimiter[i + 1] == 'n')) {
          decoded.push_back(delimiter[++i] == 'r' ? '\r' : '\n');
        } else {
          decoded.push_back(delimiter[i]);
        }
      }
      if (decoded.empty()) throw config::ConfigError(options.position("delimiter"), "codec cef: empty delimiter");
      delimiter_ = decoded;
      splitter_.emplace(decoded);
    }
    if (options.has("raw_data_field")) {
      std::string error;
      raw_data_field_ = FieldRef::parse(options.get_string("raw_data_field"), &error);
      if (!raw_data_field_) {
        throw config::ConfigError(options.position("raw_data_field"), "codec cef: " + error);
      }
    }
    encode_ = std::make_shared<cef::Format::EncodeSettings>();
    encode_->vendor = Template(options.get_string("vendor"));
    encode_->product = Template(options.get_string("product"));
    encode_->version = Template(options.get_string("version"));
    encode_->signature = Template(options.get_string("signature"));
    encode_->name = Template(options.get_string("name"));
    encode_->severity = Template(options.get_string("severity"));
    encode_->fields = options.get_string_array("fields");
    encode_->delimiter = delimiter_.value_or("");
    format_->prepare(*encode_);
  }

  CefCodec(const CefCodec& other)
      : format_(other.format_), encode_(other.encode_), delimiter_(other.delimiter_),
        raw_data_field_(other.raw_data_field_) {
    if (delimiter_) splitter_.emplace(*delimiter_);
  }

  void decode(std::string_view data, EventSink& sink) override {
    if (!splitter_) {
      handle(data, sink);
      return;
    }
    splitter_->split(data, [&](std::string_view line) { handle(line, sink); });
  }

  // A unit framed by the input (a file line, a datagram) is one record.
  void decode_unit(std::string_view unit, EventSink& sink) override { handle(unit, sink); }

  void flush(EventSink& sink) override {
    if (!splitter_ || !splitter_->has_pending()) return;
    std::string rest = splitter_->take_pending();
    if (!rest.empty()) handle(rest, sink);
  }

  void encode(const Event& event, std::string& out) override { format_->encode(event, *encode_, out); }

  std::unique_ptr<Codec> clone() const override { return std::make_unique<CefCodec>(*this); }
  bool decodes_units_independently() const override { return true; }

 private:
  void handle(std::string_view raw, EventSink& sink) {
    thread_local cef::ParsedRecord record;
    thread_local std::string error, converted;
    const std::string_view data = to_utf8(Charset::Utf8, raw, converted);
    Event* event = new_event();
    const Timestamp now = Timestamp::now();
    if (format_->parse(data, record, &error)) {
      event->fields()["@timestamp"].set_timestamp(now);
      event->fields()["@version"].set_string("1");
      if (raw_data_field_) event->put(*raw_data_field_).set_string(raw);
      cef::Format::apply(record, event->fields());
    } else {
      std::string_view text = data;  // Logstash keeps the text with its quotes stripped
      if (!text.empty() && text[0] == '"') text = text.size() >= 2 ? text.substr(1, text.size() - 2) : std::string_view();
      event->init_with_message(text, now);
      event->add_tag("_cefparsefailure");
    }
    sink.accept(event);
  }

  std::shared_ptr<const cef::Format> format_;
  std::shared_ptr<cef::Format::EncodeSettings> encode_;
  std::optional<std::string> delimiter_;
  std::optional<LineSplitter> splitter_;
  std::optional<FieldRef> raw_data_field_;
};

const RegisterCodec registration{cef_schema(), [](const Options& options, PluginContext& context) {
                                   return std::make_unique<CefCodec>(options, context);
                                 }};

}  // namespace
}  // namespace sluice
