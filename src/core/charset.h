// Text coming into events is UTF-8. Codecs convert their input from the configured
// `charset` the way Logstash's LogStash::Util::Charset does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice {

enum class Charset { Utf8, Latin1, Windows1252, UsAscii, Binary };

// Accepts Logstash's names for the supported charsets, case-insensitively: UTF-8 (UTF8),
// ISO-8859-1 (ISO8859-1, Latin1), Windows-1252 (CP1252), US-ASCII (ASCII), ASCII-8BIT (BINARY).
std::optional<Charset> charset_from_name(std::string_view name);
const char* supported_charsets();  // for error messages

bool is_valid_utf8(std::string_view text);
// Whether every byte is below 0x80 (SSE2, sixteen bytes at a time).
bool is_ascii(std::string_view text);

// The text as UTF-8: `in` itself when it already is valid UTF-8 and needs no conversion,
// else the converted text in `scratch`. Invalid UTF-8 declared as UTF-8 becomes its Ruby
// inspect form without the quotes (Logstash's "\xFF" escaping); bytes a single-byte charset
// cannot map become U+FFFD.
std::string_view to_utf8(Charset charset, std::string_view in, std::string& scratch);

// Ruby's String#inspect body (no surrounding quotes): `"` `\` escaped, \n \t \e ..., other
// control characters as \uXXXX, invalid UTF-8 bytes as \xHH, `#{` `#$` `#@` as `\#`.
void append_ruby_inspect(std::string& out, std::string_view text);

}  // namespace sluice
