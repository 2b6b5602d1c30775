// JSON out: written through raw pointers into a per-thread scratch buffer, then appended to
// the caller's string in one copy; strings are scanned 16 bytes at a time (SSE2) and copied
// as they are scanned, stopping only at bytes that need escaping.
// JSON in: simdjson's DOM parser (one per thread), converted into Values in document order.
#include "core/json.h"

#include <fmt/format.h>
#include <simdjson.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <cmath>
#include <cstring>
#include <memory>

#include "core/time_format.h"

namespace sluice {

namespace {

constexpr size_t kInitialScratchBytes = 4096;
constexpr size_t kKeptScratchBytes = 1 << 20;

// A growable raw output area (per thread). The write position is kept by the callers in a
// local `char* p` (passed in and returned), so the compiler can hold it in a register:
// stores through char* would otherwise force it to be reloaded from memory after each byte.
class Writer {
 public:
  Writer() : scratch_(scratch_buffer()) {}

  char* begin() const { return scratch_.data.get(); }
  // Makes room for n more bytes at p; returns p (moved if the buffer grew).
  char* ensure(char* p, size_t n) {
    if (size_t(scratch_.data.get() + scratch_.capacity - p) < n) p = grow(p, n);
    return p;
  }

  void flush_to(char* p, std::string& out) {
    out.append(begin(), size_t(p - begin()));
    // One huge document should not pin its memory in every thread for good.
    if (scratch_.capacity > kKeptScratchBytes) {
      scratch_.capacity = kInitialScratchBytes;
      scratch_.data = std::make_unique<char[]>(scratch_.capacity);
    }
  }

 private:
  struct Scratch {
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
  };
  static Scratch& scratch_buffer() {
    thread_local Scratch scratch;
    if (!scratch.data) {
      scratch.capacity = kInitialScratchBytes;
      scratch.data = std::make_unique<char[]>(scratch.capacity);
    }
    return scratch;
  }

  __attribute__((noinline)) char* grow(char* p, size_t n) {
    size_t used = size_t(p - begin());
    size_t capacity = scratch_.capacity * 2;
    while (capacity - used < n) capacity *= 2;
    auto bigger = std::make_unique<char[]>(capacity);
    std::memcpy(bigger.get(), begin(), used);
    scratch_.data = std::move(bigger);
    scratch_.capacity = capacity;
    return begin() + used;
  }

  Scratch& scratch_;

 public:
  // The last long string written in this document: its source and where its escaped text
  // lies in the scratch buffer (offsets: the buffer may move). Logstash 8 events carry the
  // whole line twice (message and [event][original]): the second copy is a memcmp and a
  // memcpy instead of a second escaping pass.
  struct Repeat {
    const char* source = nullptr;
    size_t length = 0;
    size_t out_begin = 0;
    size_t out_end = 0;
  } repeat;
};

// Every write_* leaves at least this much room, so a separator or two can follow unchecked.
constexpr size_t kSlack = 8;

// Long strings are escaped in slices so the room reserved (6 bytes per input byte) stays bounded.
constexpr size_t kStringSlice = 64 * 1024;

inline bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// The escape of every byte that needs one, padded to 8 bytes so it is copied with one
// fixed-size store (the caller guarantees the room): \" \\ \n \r \t \b \f, else \u00XX.
struct EscapeTable {
  struct Entry {
    char text[8];
    uint8_t length;
  };
  Entry entries[256] = {};
  constexpr EscapeTable() {
    const char hex[] = "0123456789abcdef";
    for (int c = 0; c < 0x20; ++c) {
      Entry& e = entries[c];
      e.text[0] = '\\';
      e.text[1] = 'u';
      e.text[2] = '0';
      e.text[3] = '0';
      e.text[4] = hex[c >> 4];
      e.text[5] = hex[c & 15];
      e.length = 6;
    }
    auto two = [&](unsigned char c, char letter) {
      entries[c].text[0] = '\\';
      entries[c].text[1] = letter;
      entries[c].length = 2;
    };
    two('"', '"');
    two('\\', '\\');
    two('\n', 'n');
    two('\r', 'r');
    two('\t', 't');
    two('\b', 'b');
    two('\f', 'f');
  }
};
constexpr EscapeTable kEscapes;

// Writes the escape of c at p (8 bytes of room needed); returns the new end.
inline char* write_escape(char* p, unsigned char c) {
  const EscapeTable::Entry& e = kEscapes.entries[c];
  std::memcpy(p, e.text, 8);
  return p + e.length;
}

#ifdef __SSE2__
// Bit i set when byte i of the block is `"`, `\\` or a control character (<= 0x1F).
inline unsigned special_bytes(__m128i block) {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control_max = _mm_set1_epi8(0x1F);
  __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(block, control_max), control_max);
  __m128i special =
      _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(block, quote), _mm_cmpeq_epi8(block, backslash)), control);
  return unsigned(_mm_movemask_epi8(special));
}

inline uint64_t load64(const char* s) {
  uint64_t v;
  std::memcpy(&v, s, 8);
  return v;
}

inline uint32_t load32(const char* s) {
  uint32_t v;
  std::memcpy(&v, s, 4);
  return v;
}

// The `available` (1..15) bytes at s as the low bytes of a block (the rest is junk that the
// caller masks off), read with overlapping loads that stay inside the string.
inline __m128i load_tail(const char* s, size_t available) {
  uint64_t low, high = 0;
  if (available >= 8) {
    low = load64(s);
    // s[available-8, available) shifted so that s[8] lands in byte 0 of the high half.
    if (available > 8) high = load64(s + available - 8) >> (8 * (16 - available));
  } else if (available >= 4) {
    low = load32(s);
    if (available > 4) low |= uint64_t(load32(s + available - 4) >> (8 * (8 - available))) << 32;
  } else {
    low = uint8_t(s[0]);
    if (available > 1) low |= uint64_t(uint8_t(s[1])) << 8;
    if (available > 2) low |= uint64_t(uint8_t(s[2])) << 16;
  }
  return _mm_set_epi64x(int64_t(high), int64_t(low));
}
#endif

// Copies s[0, n) escaped to p (room for 6n + 64 bytes guaranteed); returns the new end.
// Blocks are copied whole as they are scanned; at a byte that needs escaping the copy
// stops there, the escape is written, and scanning resumes after it.
char* write_escaped(char* p, const char* s, size_t n) {
  size_t i = 0;
#ifdef __SSE2__
  while (n - i >= 32) {
    __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    __m128i high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + 16));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), low);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 16), high);
    unsigned mask = special_bytes(low) | (special_bytes(high) << 16);
    if (mask == 0) {
      p += 32;
      i += 32;
      continue;
    }
    // Escape the special bytes of this block in turn: the clean bytes before the first are
    // already in place; after each escape the next 32 source bytes are copied ahead (into
    // room the caller reserved) while they lie within the string, else scanning resumes there.
    size_t start = 0;
    char* q = p;
    for (;;) {
      unsigned offset = unsigned(__builtin_ctz(mask));
      q += offset - start;
      q = write_escape(q, static_cast<unsigned char>(s[i + offset]));
      start = offset + 1;
      mask &= mask - 1;
      if (n - i < start + 32) break;
      __m128i next_low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + start));
      __m128i next_high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + start + 16));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q), next_low);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), next_high);
      if (mask == 0) {
        q += 32 - start;
        start = 32;
        break;
      }
    }
    p = q;
    i += start;
  }
  while (i < n) {
    const size_t available = n - i;
    __m128i block;
    unsigned valid = 0xFFFF;
    if (available >= 16) {
      block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    } else {
      valid = (1u << available) - 1;
      block = load_tail(s + i, available);
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), block);
    unsigned mask = special_bytes(block) & valid;
    if (mask == 0) {
      size_t step = available >= 16 ? 16 : available;
      p += step;
      i += step;
      continue;
    }
    unsigned offset = unsigned(__builtin_ctz(mask));
    p = write_escape(p + offset, static_cast<unsigned char>(s[i + offset]));
    i += offset + 1;
  }
#endif
  for (; i < n; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (needs_escape(c)) p = write_escape(p, c);
    else *p++ = char(c);
  }
  return p;
}

// Strings this long are worth remembering for Writer::repeat.
constexpr size_t kRepeatMinLength = 48;

char* write_string(Writer& w, char* p, std::string_view s) {
  const char* data = s.data();
  size_t n = s.size();
  if (n <= kStringSlice) {
    p = w.ensure(p, n * 6 + 64 + 2 + kSlack);
    *p++ = '"';
    if (n >= kRepeatMinLength) {
      Writer::Repeat& r = w.repeat;
      if (r.length == n && std::memcmp(r.source, data, n) == 0) {
        const size_t escaped = r.out_end - r.out_begin;
        std::memcpy(p, w.begin() + r.out_begin, escaped);
        p += escaped;
      } else {
        const size_t begin = size_t(p - w.begin());
        p = write_escaped(p, data, n);
        r = {data, n, begin, size_t(p - w.begin())};
      }
    } else {
      p = write_escaped(p, data, n);
    }
    *p++ = '"';
    return p;
  }
  p = w.ensure(p, 1);
  *p++ = '"';
  while (n > 0) {
    size_t slice = std::min(n, kStringSlice);
    p = w.ensure(p, slice * 6 + 64 + 1 + kSlack);
    p = write_escaped(p, data, slice);
    data += slice;
    n -= slice;
  }
  *p++ = '"';
  return p;
}

// Keys and most values are short std::strings. A std::string's buffer always has room for 16
// bytes (its 16-byte local buffer, or a heap block of capacity + 1 > 16 bytes), so a short one
// is read with one 16-byte load, checked and stored whole.
__attribute__((always_inline)) inline char* write_std_string(Writer& w, char* p, const std::string& s) {
#ifdef __SSE2__
  const size_t n = s.size();
  if (n < 16) {
    p = w.ensure(p, 16 * 6 + 64 + 2 + kSlack);
    *p++ = '"';
    __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data()));
    if ((special_bytes(block) & ((1u << n) - 1)) == 0) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p), block);
      p += n;
    } else {
      p = write_escaped(p, s.data(), n);
    }
    *p++ = '"';
    return p;
  }
#endif
  return write_string(w, p, s);
}

char* write_int(Writer& w, char* p, int64_t value) {
  p = w.ensure(p, 24 + kSlack);
  char buf[24];
  char* end = buf + sizeof buf;
  char* q = end;
  uint64_t magnitude = value < 0 ? 0 - uint64_t(value) : uint64_t(value);
  do {
    *--q = char('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude);
  if (value < 0) *--q = '-';
  std::memcpy(p, q, size_t(end - q));
  return p + (end - q);
}

char* write_literal(Writer& w, char* p, std::string_view text) {
  p = w.ensure(p, text.size() + kSlack);
  std::memcpy(p, text.data(), text.size());
  return p + text.size();
}

char* write_float(Writer& w, char* p, double value) {
  // Not representable in JSON: written as strings, as Jackson (Logstash) does.
  if (std::isnan(value)) return write_literal(w, p, "\"NaN\"");
  if (std::isinf(value)) return write_literal(w, p, value < 0 ? "\"-Infinity\"" : "\"Infinity\"");
  p = w.ensure(p, 48 + kSlack);
  char* end = fmt::format_to(p, "{}", value);
  // Keep floats recognisable as floats: "1" -> "1.0".
  bool integral_looking = true;
  for (char* q = p; q < end; ++q) {
    if (*q == '.' || *q == 'e' || *q == 'E') {
      integral_looking = false;
      break;
    }
  }
  if (integral_looking) {
    *end++ = '.';
    *end++ = '0';
  }
  return end;
}

char* write_value(Writer& w, char* p, const Value& v);

char* write_object(Writer& w, char* p, const Object& object) {
  p = w.ensure(p, 1 + kSlack);
  *p++ = '{';
  bool first = true;
  for (const Object::Entry& entry : object) {
    if (!first) *p++ = ',';  // within the slack the previous write left
    first = false;
    p = write_std_string(w, p, entry.key);
    *p++ = ':';
    // Most values are strings: written here, without the call and the type switch.
    if (entry.value.is_string()) p = write_std_string(w, p, entry.value.as_string());
    else p = write_value(w, p, entry.value);
  }
  p = w.ensure(p, 1 + kSlack);
  *p++ = '}';
  return p;
}

char* write_value(Writer& w, char* p, const Value& v) {
  switch (v.type()) {
    case Type::Null: return write_literal(w, p, "null");
    case Type::Bool: return write_literal(w, p, v.as_bool() ? "true" : "false");
    case Type::Int: return write_int(w, p, v.as_int());
    case Type::Float: return write_float(w, p, v.as_float());
    case Type::String: return write_std_string(w, p, v.as_string());
    case Type::Timestamp: {
      // Events decoded together share their creation time (event_clock.h): the text of the
      // last one written on this thread is kept.
      struct LastTimestamp {
        int64_t nanos = 0;
        size_t length = 0;
        char text[kIso8601MaxLength];
      };
      thread_local LastTimestamp last;
      const Timestamp ts = v.as_timestamp();
      if (last.length == 0 || last.nanos != ts.nanos) {
        last.length = format_iso8601(ts, last.text);
        last.nanos = ts.nanos;
      }
      p = w.ensure(p, kIso8601MaxLength + 2 + kSlack);
      *p++ = '"';
      std::memcpy(p, last.text, last.length);
      p += last.length;
      *p++ = '"';
      return p;
    }
    case Type::Array: {
      p = w.ensure(p, 1 + kSlack);
      *p++ = '[';
      bool first = true;
      for (const Value& item : v.as_array()) {
        if (!first) *p++ = ',';
        first = false;
        p = write_value(w, p, item);
      }
      p = w.ensure(p, 1 + kSlack);
      *p++ = ']';
      return p;
    }
    case Type::Object: {
      if (!v.is_shared()) return write_object(w, p, v.as_object());
      // A shared subtree (a cached lookup result, the file input's [log]) is the same text in
      // every event that holds it: written once, then copied.
      if (const std::string* memo = v.shared_memo()) {
        p = w.ensure(p, memo->size() + kSlack);
        std::memcpy(p, memo->data(), memo->size());
        return p + memo->size();
      }
      const size_t start = size_t(p - w.begin());
      p = write_object(w, p, v.as_object());
      v.set_shared_memo(std::string(w.begin() + start, p));
      return p;
    }
  }
  return p;
}

// ---- parsing ----

void convert(simdjson::dom::element element, Value& out) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::OBJECT: {
      Object& object = out.make_object();
      for (simdjson::dom::key_value_pair field : simdjson::dom::object(element)) {
        convert(field.value, object[field.key]);
      }
      break;
    }
    case element_type::ARRAY: {
      Array& items = out.make_array();
      simdjson::dom::array array(element);
      items.reserve(array.size());
      for (simdjson::dom::element item : array) {
        items.emplace_back();
        convert(item, items.back());
      }
      break;
    }
    case element_type::STRING: out.set_string(std::string_view(element)); break;
    case element_type::INT64: out.set_int(int64_t(element)); break;
    case element_type::UINT64: out.set_float(double(uint64_t(element))); break;  // beyond int64
    case element_type::DOUBLE: out.set_float(double(element)); break;
    case element_type::BOOL: out.set_bool(bool(element)); break;
    case element_type::NULL_VALUE: out.set_null(); break;
  }
}

}  // namespace

void json_append_string(std::string& out, std::string_view s) {
  Writer w;
  w.flush_to(write_string(w, w.begin(), s), out);
}

void json_append_value(std::string& out, const Value& v) {
  Writer w;
  w.flush_to(write_value(w, w.begin(), v), out);
}

void json_append_event(std::string& out, const Event& e) {
  Writer w;
  w.flush_to(write_object(w, w.begin(), e.fields()), out);
}

bool json_parse(std::string_view text, Value& out, std::string* error) {
  // The per-thread parser keeps the capacity of the largest document it saw; a huge one
  // gets a parser of its own so that memory is given back afterwards.
  constexpr size_t kLargeDocument = 16 << 20;
  thread_local simdjson::dom::parser shared_parser;
  std::unique_ptr<simdjson::dom::parser> own_parser;
  simdjson::dom::parser* parser = &shared_parser;
  if (text.size() > kLargeDocument) {
    own_parser = std::make_unique<simdjson::dom::parser>();
    parser = own_parser.get();
  }
  simdjson::dom::element root;
  auto err = parser->parse(text.data(), text.size()).get(root);
  if (err) {
    if (error) *error = simdjson::error_message(err);
    return false;
  }
  convert(root, out);
  return true;
}

}  // namespace sluice
