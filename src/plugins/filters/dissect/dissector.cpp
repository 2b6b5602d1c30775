#include "plugins/filters/dissect/dissector.h"

#include <algorithm>

namespace sluice::dissect {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// `/N`, `/NN`, `->`, `/N->`, `->/N` (Logstash's field suffixes), the whole of `s`.
bool is_suffix(std::string_view s) {
  auto ordinal = [](std::string_view t, size_t& i) {
    if (i >= t.size() || t[i] != '/') return false;
    size_t start = ++i;
    while (i < t.size() && is_digit(t[i]) && i - start < 2) ++i;
    return i > start;
  };
  if (s == "->") return true;
  size_t i = 0;
  if (s.substr(0, 3) == "->/") {
    i = 2;
    return ordinal(s, i) && i == s.size();
  }
  if (!ordinal(s, i)) return false;
  if (i == s.size()) return true;
  return s.substr(i) == "->";
}

// Splits `name/2->` into the name and its suffix, as Logstash's Field.extractNameSuffix does.
void split_suffix(std::string_view s, std::string& name, std::string& suffix) {
  if (s.empty() || is_suffix(s)) {
    name.clear();
    suffix = std::string(s);
    return;
  }
  for (size_t i = 1; i < s.size(); ++i) {  // the shortest name whose rest is a suffix
    if (is_suffix(s.substr(i))) {
      name = std::string(s.substr(0, i));
      suffix = std::string(s.substr(i));
      return;
    }
  }
  name = std::string(s);
  suffix.clear();
}

int ordinal_of(std::string_view suffix) {
  size_t i = 0;
  while (i < suffix.size() && !is_digit(suffix[i])) ++i;
  int value = 0;
  while (i < suffix.size() && is_digit(suffix[i])) value = value * 10 + (suffix[i++] - '0');
  return value;
}

size_t index_of(const Delimiter& delimiter, std::string_view text, size_t offset) {
  if (delimiter.text.empty() || offset > text.size()) return std::string_view::npos;  // Logstash: never found
  return text.find(delimiter.text, offset);
}

bool starts_with_at(std::string_view text, size_t offset, const std::string& needle) {
  return !needle.empty() && offset <= text.size() && text.substr(offset, needle.size()) == needle;
}

}  // namespace

Dissector::Dissector(std::string_view mapping) {
  if (mapping.empty()) throw MappingError("The mapping string cannot be empty");
  struct Raw {
    std::string name;
    size_t previous;
  };
  std::vector<Raw> raw;
  // `(.*?)%\{([^}]*?)}` repeatedly: the text before each `%{...}` is the delimiter before it.
  size_t p = 0;
  while (true) {
    size_t open = mapping.find("%{", p);
    if (open == std::string_view::npos) break;
    size_t close = mapping.find('}', open + 2);
    if (close == std::string_view::npos) break;
    delimiters_.push_back(Delimiter{std::string(mapping.substr(p, open - p)), false});
    raw.push_back(Raw{std::string(mapping.substr(open + 2, close - open - 2)), delimiters_.size() - 1});
    if (raw.size() == 1) first_field_offset_ = delimiters_.back().text.size();
    p = close + 1;
  }
  // Text after the last `}` is a final delimiter followed by an implicit skip field.
  size_t last_brace = mapping.rfind('}');
  std::string_view tail = last_brace == std::string_view::npos ? mapping : mapping.substr(last_brace + 1);
  if (!tail.empty()) {
    if (raw.empty()) throw MappingError("The mapping has no %{field}: `" + std::string(mapping) + "`");
    delimiters_.push_back(Delimiter{std::string(tail), false});
    raw.push_back(Raw{"?auto_added_skip", delimiters_.size() - 1});
  }

  for (size_t i = 0; i < raw.size(); ++i) {
    Field field;
    field.id = i;
    field.previous = raw[i].previous;
    if (i + 1 < raw.size()) field.next = raw[i + 1].previous;
    const std::string& text = raw[i].name;
    std::string name, suffix;
    if (text.empty() || text[0] == '?' || text[0] == '*') {
      // `*key` is Elasticsearch's spelling of a reference key; Logstash writes `?key`.
      field.kind = Field::Kind::Skip;
      split_suffix(text.empty() ? std::string_view() : std::string_view(text).substr(1), name, suffix);
      field.ordinal = 0;
    } else if (text.rfind("+&", 0) == 0 || text.rfind("&+", 0) == 0) {
      throw MappingError("Field cannot prefix with both Append and Indirect Prefix (" + text.substr(0, 2) +
                         "): " + text);
    } else if (text[0] == '+' || text[0] == '&') {
      std::string_view rest = std::string_view(text).substr(1);
      if (rest.empty()) throw MappingError("Field cannot be a prefix on its own without further text");
      split_suffix(rest, name, suffix);
      if (name.empty()) throw MappingError("Field cannot be a prefix and a suffix without a name section");
      if (text[0] == '+') {
        field.kind = Field::Kind::Append;
        field.ordinal = 100 + ordinal_of(suffix);
      } else {
        field.kind = Field::Kind::Indirect;
        field.ordinal = 1000;
      }
    } else {
      split_suffix(text, name, suffix);
      field.kind = Field::Kind::Normal;
      field.ordinal = 1;
    }
    field.name = name;
    if (field.kind != Field::Kind::Skip) {
      std::string error;
      field.ref = FieldRef::parse(name, &error);
      if (!field.ref && field.kind != Field::Kind::Indirect) {
        throw MappingError("invalid field reference `" + name + "` in dissect mapping: " + error);
      }
    }
    if (field.next) delimiters_[*field.next].greedy = suffix.find("->") != std::string::npos;
    fields_.push_back(std::move(field));
  }
  for (const Field& field : fields_) {
    if (field.kind != Field::Kind::Skip) save_order_.push_back(field.id);
  }
  std::stable_sort(save_order_.begin(), save_order_.end(),
                   [&](size_t a, size_t b) { return fields_[a].ordinal < fields_[b].ordinal; });
}

bool Dissector::dissect(std::string_view text, std::vector<Span>& spans) const {
  if (fields_.empty() || text.empty()) return false;
  spans.assign(fields_.size(), Span{});
  size_t left = 0, start = 0;
  // Moves past the delimiter before a field (all its repeats when the field before had `->`).
  auto move_beyond = [&](const Delimiter& previous) {
    if (previous.greedy) {
      while (starts_with_at(text, left, previous.text)) left += previous.text.size();
    } else if (left == 0 && first_field_offset_ > 0) {
      // The mapping starts with a delimiter: the text must start with it.
      if (!starts_with_at(text, 0, previous.text)) return false;
      left = previous.text.size();
    }
    start = left;
    return true;
  };
  const size_t last = fields_.size() - 1;
  for (size_t i = 0; i < last; ++i) {
    const Field& field = fields_[i];
    if (!move_beyond(delimiters_[field.previous])) return false;
    const Delimiter& next = delimiters_[*field.next];
    size_t length = 0;
    const size_t pos = index_of(next, text, left);
    if (pos == std::string_view::npos) return false;
    if (pos > 0) {  // (at 0 Logstash leaves the position where it is)
      length = pos - left;
      left = pos + next.text.size();
    }
    spans[field.id] = Span{start, length};
  }
  const Field& final_field = fields_[last];
  if (!move_beyond(delimiters_[final_field.previous])) return false;
  spans[final_field.id] = Span{start, text.size() - left};
  return true;
}

const std::string& Dissector::join_string(const Field& field) const {
  const std::string& previous = delimiters_[field.previous].text;
  return previous.empty() ? space_ : previous;
}

size_t Dissector::find_field(std::string_view name, size_t self) const {
  for (const Field& field : fields_) {
    if (field.id != self && field.name == name) return field.id;
  }
  return std::string::npos;
}

}  // namespace sluice::dissect
