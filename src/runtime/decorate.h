// The options every input and filter shares, applied by the runtime (Logstash's Decorators):
//  - inputs, in push(): `type` (only when the event has none), then `add_field`, then `tags`;
//  - filters, when filter() returned true ("filter_matched"), and on every event a filter
//    emits: `add_field`, `remove_field`, `add_tag`, `remove_tag`, in that order.
// Names and values are sprintf templates, compiled once; constant field names are parsed once.
// add_field on a field that exists turns it into an array and appends, as Logstash does.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/sprintf.h"
#include "runtime/options.h"

namespace sluice {

class Decoration {
 public:
  Decoration() = default;
  // Reads the common options of an input (type, add_field, tags) from validated options.
  static Decoration for_input(const Options& options);
  // Reads the common options of a filter (add_field, remove_field, add_tag, remove_tag).
  static Decoration for_filter(const Options& options);

  bool empty() const { return empty_; }
  void apply(Event& event) const;

 private:
  struct FieldName {
    Template name;
    std::optional<FieldRef> constant_ref;  // when `name` has no %{...}
    // The reference for this event (rendering the name when needed); nullopt if invalid.
    const FieldRef* resolve(const Event& event, FieldRef& scratch) const;
  };
  struct AddField {
    FieldName field;
    std::vector<Template> values;
  };

  static FieldName make_name(const std::string& text);
  void add_fields(Event& event) const;

  bool is_input_ = false;
  bool empty_ = true;
  std::string type_;
  std::optional<FieldRef> type_ref_;
  std::vector<AddField> add_field_;
  std::vector<FieldName> remove_field_;
  std::vector<Template> add_tag_;
  std::vector<Template> remove_tag_;
};

}  // namespace sluice
