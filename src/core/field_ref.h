// A parsed field reference: `message`, `[a][b]`, `[@metadata][x]`, `[tags][0]`.
// Parsed once at config time; resolving it at run time is a short key walk.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

class FieldRef {
 public:
  FieldRef() = default;
  // Parses Logstash's field reference syntax. A bare word (`a.b`, `host`) is one top-level key.
  // Returns nullopt with *error set on malformed input (`[a`, `a[b]c`, `[]`).
  static std::optional<FieldRef> parse(std::string_view text, std::string* error = nullptr);
  // For known-good references in code; throws std::invalid_argument on bad syntax.
  static FieldRef of(std::string_view text);

  // Path segments, e.g. {"a","b"} for [a][b]. For `[@metadata][x]`: is_metadata() and path() == {"x"}.
  const std::vector<std::string>& path() const { return path_; }
  bool is_metadata() const { return metadata_; }
  bool is_root_metadata() const { return metadata_ && path_.empty(); }  // `[@metadata]` itself
  bool empty() const { return path_.empty() && !metadata_; }
  const std::string& text() const { return text_; }  // as written, for messages and sprintf misses
  bool operator==(const FieldRef& o) const { return metadata_ == o.metadata_ && path_ == o.path_; }

 private:
  std::vector<std::string> path_;
  bool metadata_ = false;
  std::string text_;
};

}  // namespace sluice
