// Common input/filter options applied to events (see decorate.h).
#include "runtime/decorate.h"
#include "core/value_ops.h"

namespace sluice {

namespace {

std::vector<Template> templates(const std::vector<std::string>& texts) {
  std::vector<Template> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.emplace_back(t);
  return out;
}

// add_field values: a scalar, or an array of scalars (each appended).
void collect_values(const config::ConfigValue& value, std::vector<Template>& out) {
  if (value.kind == config::ConfigValue::Kind::Array) {
    for (const auto& item : value.items) collect_values(item, out);
    return;
  }
  if (value.kind == config::ConfigValue::Kind::Boolean) {
    out.emplace_back(value.boolean ? "true" : "false");
    return;
  }
  out.emplace_back(value.text);
}

}  // namespace

Decoration::FieldName Decoration::make_name(const std::string& text) {
  FieldName name{Template(text), std::nullopt};
  if (name.name.is_constant()) name.constant_ref = FieldRef::parse(text);
  return name;
}

const FieldRef* Decoration::FieldName::resolve(const Event& event, FieldRef& scratch) const {
  if (name.is_constant()) return constant_ref ? &*constant_ref : nullptr;
  auto parsed = FieldRef::parse(name.render(event));
  if (!parsed) return nullptr;
  scratch = std::move(*parsed);
  return &scratch;
}

Decoration Decoration::for_input(const Options& options) {
  Decoration d;
  d.is_input_ = true;
  if (options.raw("type")) {
    d.type_ = options.get_string("type");
    if (!d.type_.empty()) d.type_ref_ = FieldRef::of("type");
  }
  for (auto& [name, value] : options.get_hash("add_field")) {
    AddField field{make_name(name), {}};
    collect_values(value, field.values);
    d.add_field_.push_back(std::move(field));
  }
  if (options.raw("tags")) d.add_tag_ = templates(options.get_string_array("tags"));
  d.empty_ = !d.type_ref_ && d.add_field_.empty() && d.add_tag_.empty();
  return d;
}

Decoration Decoration::for_filter(const Options& options) {
  Decoration d;
  for (auto& [name, value] : options.get_hash("add_field")) {
    AddField field{make_name(name), {}};
    collect_values(value, field.values);
    d.add_field_.push_back(std::move(field));
  }
  if (options.raw("remove_field")) {
    for (const auto& name : options.get_string_array("remove_field")) d.remove_field_.push_back(make_name(name));
  }
  if (options.raw("add_tag")) d.add_tag_ = templates(options.get_string_array("add_tag"));
  if (options.raw("remove_tag")) d.remove_tag_ = templates(options.get_string_array("remove_tag"));
  d.empty_ = d.add_field_.empty() && d.remove_field_.empty() && d.add_tag_.empty() && d.remove_tag_.empty();
  return d;
}

void Decoration::add_fields(Event& event) const {
  FieldRef scratch;
  std::string text;
  for (const AddField& field : add_field_) {
    const FieldRef* ref = field.field.resolve(event, scratch);
    if (!ref) continue;
    for (const Template& value : field.values) {
      text.clear();
      value.render(event, text);
      Value* existing = event.get(*ref);
      if (!existing) {
        event.put(*ref).set_string(text);
      } else if (existing->is_array()) {
        existing->as_array().emplace_back(std::string_view(text));
      } else {
        Array& items = wrap_in_array(*existing);
        items.emplace_back(std::string_view(text));
      }
    }
  }
}

namespace {

// A tag's text for this event. One without %{...} is its own text: no rendering (and no heap
// string for a long tag).
std::string_view tag_text(const Event& event, const Template& tag, std::string& scratch) {
  if (tag.is_constant()) return tag.source();
  scratch.clear();
  tag.render(event, scratch);
  return scratch;
}

}  // namespace

void Decoration::apply(Event& event) const {
  if (empty_) return;
  std::string text;
  if (is_input_) {
    if (type_ref_ && !event.contains(*type_ref_)) event.put(*type_ref_).set_string(type_);
    add_fields(event);
    for (const Template& tag : add_tag_) event.add_tag(tag_text(event, tag, text));
    return;
  }
  add_fields(event);
  FieldRef scratch;
  for (const FieldName& name : remove_field_) {
    if (const FieldRef* ref = name.resolve(event, scratch)) event.remove(*ref);
  }
  for (const Template& tag : add_tag_) event.add_tag(tag_text(event, tag, text));
  for (const Template& tag : remove_tag_) event.remove_tag(tag_text(event, tag, text));
}

}  // namespace sluice
