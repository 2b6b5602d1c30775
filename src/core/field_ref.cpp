// Logstash field reference syntax (strict mode): a bare word is one key; otherwise a
// sequence of `[segment]` with no brackets inside segments and nothing between them.
#include "core/field_ref.h"

#include <stdexcept>

namespace sluice {

namespace {
constexpr std::string_view kMetadata = "@metadata";

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}
}  // namespace

std::optional<FieldRef> FieldRef::parse(std::string_view text, std::string* error) {
  FieldRef ref;
  ref.text_.assign(text);
  if (text.empty()) {
    fail(error, "empty field reference");
    return std::nullopt;
  }
  if (text.front() != '[') {
    if (text.find_first_of("[]") != std::string_view::npos) {
      fail(error, "invalid field reference `" + std::string(text) + "`: brackets inside a bare word");
      return std::nullopt;
    }
    if (text == kMetadata) ref.metadata_ = true;
    else ref.path_.emplace_back(text);
    return ref;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] != '[') {
      fail(error, "invalid field reference `" + std::string(text) + "`: expected `[` at offset " +
                      std::to_string(pos));
      return std::nullopt;
    }
    size_t close = text.find_first_of("[]", pos + 1);
    if (close == std::string_view::npos || text[close] != ']') {
      fail(error, "invalid field reference `" + std::string(text) + "`: unbalanced `[`");
      return std::nullopt;
    }
    if (close == pos + 1) {
      fail(error, "invalid field reference `" + std::string(text) + "`: empty segment `[]`");
      return std::nullopt;
    }
    std::string_view segment = text.substr(pos + 1, close - pos - 1);
    if (pos == 0 && segment == kMetadata) ref.metadata_ = true;
    else ref.path_.emplace_back(segment);
    pos = close + 1;
  }
  return ref;
}

FieldRef FieldRef::of(std::string_view text) {
  std::string error;
  auto ref = parse(text, &error);
  if (!ref) throw std::invalid_argument(error);
  return std::move(*ref);
}

}  // namespace sluice
