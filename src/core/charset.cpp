// Charset conversion into UTF-8 and Ruby's inspect escaping.
#include "core/charset.h"

#include <simdjson.h>

#include <cstdio>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace sluice {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = char(x - 32);
    if (y >= 'a' && y <= 'z') y = char(y - 32);
    if (x != y) return false;
  }
  return true;
}

// Windows-1252 0x80..0x9F (0 = undefined).
constexpr char16_t kCp1252High[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

void append_code_point(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

constexpr uint32_t kReplacement = 0xFFFD;

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when the byte starts no
// valid sequence (overlongs, surrogates and code points past U+10FFFF are invalid).
size_t utf8_sequence(std::string_view s, size_t i, uint32_t& cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  size_t length;
  uint32_t min;
  if ((c & 0xE0) == 0xC0) { length = 2; cp = c & 0x1F; min = 0x80; }
  else if ((c & 0xF0) == 0xE0) { length = 3; cp = c & 0x0F; min = 0x800; }
  else if ((c & 0xF8) == 0xF0) { length = 4; cp = c & 0x07; min = 0x10000; }
  else return 0;
  if (i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    unsigned char cc = byte(i + k);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return length;
}

}  // namespace

std::optional<Charset> charset_from_name(std::string_view name) {
  if (iequals(name, "UTF-8") || iequals(name, "UTF8")) return Charset::Utf8;
  if (iequals(name, "ISO-8859-1") || iequals(name, "ISO8859-1") || iequals(name, "Latin1")) return Charset::Latin1;
  if (iequals(name, "Windows-1252") || iequals(name, "CP1252")) return Charset::Windows1252;
  if (iequals(name, "US-ASCII") || iequals(name, "ASCII")) return Charset::UsAscii;
  if (iequals(name, "ASCII-8BIT") || iequals(name, "BINARY")) return Charset::Binary;
  return std::nullopt;
}

const char* supported_charsets() { return "UTF-8, ISO-8859-1, Windows-1252, US-ASCII, ASCII-8BIT"; }

// Most log lines are ASCII: checked here without the call through simdjson's run-time
// dispatch, which costs more than the check on a short line. Sixteen bytes at a time, the
// last block overlapping the one before.
bool is_ascii(std::string_view text) {
  const char* p = text.data();
  size_t n = text.size();
#ifdef __SSE2__
  if (n >= 16) {
    const char* last = p + n - 16;
    __m128i high_bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(last));
    for (; p + 32 <= last; p += 32) {
      high_bits = _mm_or_si128(high_bits, _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)),
                                                        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16))));
    }
    for (; p < last; p += 16)  // at most twice; a block may run into the last one, never past it
      high_bits = _mm_or_si128(high_bits, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm_movemask_epi8(high_bits) == 0;
  }
#endif
  uint64_t high_bits = 0;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    high_bits |= word;
  }
  for (; n > 0; ++p, --n) high_bits |= uint8_t(*p);
  return (high_bits & 0x8080808080808080ULL) == 0;
}

bool is_valid_utf8(std::string_view text) {
  return is_ascii(text) || simdjson::validate_utf8(text.data(), text.size());
}

std::string_view to_utf8(Charset charset, std::string_view in, std::string& scratch) {
  switch (charset) {
    case Charset::Utf8:
      if (is_valid_utf8(in)) return in;
      scratch.clear();
      append_ruby_inspect(scratch, in);
      return scratch;
    case Charset::Latin1:
    case Charset::Windows1252:
    case Charset::UsAscii:
    case Charset::Binary: {
      bool ascii = true;
      for (char c : in) {
        if (static_cast<unsigned char>(c) >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return in;
      scratch.clear();
      scratch.reserve(in.size() * 2);
      for (char ch : in) {
        auto c = static_cast<unsigned char>(ch);
        uint32_t cp = c;
        if (c >= 0x80) {
          if (charset == Charset::UsAscii || charset == Charset::Binary) cp = kReplacement;
          else if (charset == Charset::Windows1252 && c < 0xA0) cp = kCp1252High[c - 0x80] ? kCp1252High[c - 0x80] : kReplacement;
        }
        append_code_point(scratch, cp);
      }
      return scratch;
    }
  }
  return in;
}

void append_ruby_inspect(std::string& out, std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    size_t length = utf8_sequence(s, i, cp);
    if (length == 0) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned char>(s[i]));
      out += buf;
      ++i;
      continue;
    }
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\f': out += "\\f"; break;
      case '\v': out += "\\v"; break;
      case '\b': out += "\\b"; break;
      case '\a': out += "\\a"; break;
      case 0x1B: out += "\\e"; break;
      case '#': {
        char next = i + 1 < s.size() ? s[i + 1] : '\0';
        out += (next == '{' || next == '$' || next == '@') ? "\\#" : "#";
        break;
      }
      default:
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
          char buf[12];
          std::snprintf(buf, sizeof buf, "\\u%04X", cp);
          out += buf;
        } else {
          out.append(s.data() + i, length);
        }
    }
    i += length;
  }
}

}  // namespace sluice
