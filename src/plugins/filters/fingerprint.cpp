// The fingerprint filter: a consistent hash of one or more fields (document ids for idempotent
// outputs), byte-for-byte the value Logstash's fingerprint filter computes for the same event:
// the same `|key|value|` concatenation (sorted keys, Ruby's to_s of values), OpenSSL digests and
// HMACs, MurmurHash3 (x86_32 seed 0; x64_128 seed 2, as the Ruby murmurhash3 gem is called),
// plus the non-hash methods UUID, PUNCTUATION and IPV4_NETWORK.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "plugins/filters/common/ruby_text.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

// MurmurHash3 (Austin Appleby's public-domain algorithm), written from its description.
namespace murmur3 {

inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint32_t load32(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t load64(const unsigned char* p) { return uint64_t(load32(p)) | uint64_t(load32(p + 4)) << 32; }
inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bU;
  h ^= h >> 13;
  h *= 0xc2b2ae35U;
  h ^= h >> 16;
  return h;
}
inline uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

uint32_t x86_32(const void* key, size_t len, uint32_t seed) {
  const auto* data = static_cast<const unsigned char*>(key);
  const uint32_t c1 = 0xcc9e2d51U, c2 = 0x1b873593U;
  uint32_t h = seed;
  const size_t blocks = len / 4;
  for (size_t i = 0; i < blocks; ++i) {
    uint32_t k = load32(data + i * 4);
    k *= c1;
    k = rotl32(k, 15);
    k *= c2;
    h ^= k;
    h = rotl32(h, 13);
    h = h * 5 + 0xe6546b64U;
  }
  const unsigned char* tail = data + blocks * 4;
  uint32_t k = 0;
  switch (len & 3) {
    case 3: k ^= uint32_t(tail[2]) << 16; [[fallthrough]];
    case 2: k ^= uint32_t(tail[1]) << 8; [[fallthrough]];
    case 1:
      k ^= tail[0];
      k *= c1;
      k = rotl32(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= uint32_t(len);
  return fmix32(h);
}

// The 16 bytes of MurmurHash3_x64_128: h1 then h2, each little-endian.
void x64_128(const void* key, size_t len, uint32_t seed, unsigned char out[16]) {
  const auto* data = static_cast<const unsigned char*>(key);
  const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  uint64_t h1 = seed, h2 = seed;
  const size_t blocks = len / 16;
  for (size_t i = 0; i < blocks; ++i) {
    uint64_t k1 = load64(data + i * 16);
    uint64_t k2 = load64(data + i * 16 + 8);
    k1 *= c1;
    k1 = rotl64(k1, 31);
    k1 *= c2;
    h1 ^= k1;
    h1 = rotl64(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= c2;
    k2 = rotl64(k2, 33);
    k2 *= c1;
    h2 ^= k2;
    h2 = rotl64(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }
  const unsigned char* tail = data + blocks * 16;
  uint64_t k1 = 0, k2 = 0;
  switch (len & 15) {
    case 15: k2 ^= uint64_t(tail[14]) << 48; [[fallthrough]];
    case 14: k2 ^= uint64_t(tail[13]) << 40; [[fallthrough]];
    case 13: k2 ^= uint64_t(tail[12]) << 32; [[fallthrough]];
    case 12: k2 ^= uint64_t(tail[11]) << 24; [[fallthrough]];
    case 11: k2 ^= uint64_t(tail[10]) << 16; [[fallthrough]];
    case 10: k2 ^= uint64_t(tail[9]) << 8; [[fallthrough]];
    case 9:
      k2 ^= uint64_t(tail[8]);
      k2 *= c2;
      k2 = rotl64(k2, 33);
      k2 *= c1;
      h2 ^= k2;
      [[fallthrough]];
    case 8: k1 ^= uint64_t(tail[7]) << 56; [[fallthrough]];
    case 7: k1 ^= uint64_t(tail[6]) << 48; [[fallthrough]];
    case 6: k1 ^= uint64_t(tail[5]) << 40; [[fallthrough]];
    case 5: k1 ^= uint64_t(tail[4]) << 32; [[fallthrough]];
    case 4: k1 ^= uint64_t(tail[3]) << 24; [[fallthrough]];
    case 3: k1 ^= uint64_t(tail[2]) << 16; [[fallthrough]];
    case 2: k1 ^= uint64_t(tail[1]) << 8; [[fallthrough]];
    case 1:
      k1 ^= uint64_t(tail[0]);
      k1 *= c1;
      k1 = rotl64(k1, 31);
      k1 *= c2;
      h1 ^= k1;
  }
  h1 ^= uint64_t(len);
  h2 ^= uint64_t(len);
  h1 += h2;
  h2 += h1;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 += h2;
  h2 += h1;
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<unsigned char>(h1 >> (8 * i));
    out[8 + i] = static_cast<unsigned char>(h2 >> (8 * i));
  }
}

}  // namespace murmur3

enum class Method { SHA1, SHA256, SHA384, SHA512, MD5, MURMUR3, MURMUR3_128, UUID, PUNCTUATION, IPV4_NETWORK };

PluginSchema fingerprint_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "fingerprint";
  schema.doc =
      "Computes a consistent hash of one or more fields into `target` (e.g. an Elasticsearch document id), "
      "the same value Logstash computes for the same event. With `key`, the digests become HMACs.";
  schema.options = {
      option_spec("method", OptionType::String, cv_string("SHA1"), "The hash or transformation to apply.",
                  {"SHA1", "SHA256", "SHA384", "SHA512", "MD5", "MURMUR3", "MURMUR3_128", "UUID", "PUNCTUATION",
                   "IPV4_NETWORK"}),
      option_spec("source", OptionType::Array, cv_array({"message"}), "The field(s) to fingerprint."),
      option_spec("target", OptionType::String, std::nullopt,
                  "Where the fingerprint goes (default `fingerprint`, or `[event][hash]` in ECS mode)."),
      option_spec("key", OptionType::Password, std::nullopt,
                  "HMAC key for the digest methods; the prefix length for IPV4_NETWORK."),
      option_spec("base64encode", OptionType::Boolean, cv_bool(false),
                  "Base64 instead of hex for the digest and MURMUR3_128 methods."),
      option_spec("concatenate_sources", OptionType::Boolean, cv_bool(false),
                  "Hash `|name|value|` of all source fields (sorted by name) as one string."),
      option_spec("concatenate_all_fields", OptionType::Boolean, cv_bool(false),
                  "Hash `|name|value|` of every field of the event (sorted by name) as one string."),
      option_spec("ecs_compatibility", OptionType::String, std::nullopt,
                  "ECS mode; decides the default target.", {"disabled", "v1", "v8"}),
  };
  return schema;
}

Method parse_method(const std::string& name) {
  static const std::pair<const char*, Method> table[] = {
      {"SHA1", Method::SHA1},       {"SHA256", Method::SHA256},           {"SHA384", Method::SHA384},
      {"SHA512", Method::SHA512},   {"MD5", Method::MD5},                 {"MURMUR3", Method::MURMUR3},
      {"MURMUR3_128", Method::MURMUR3_128}, {"UUID", Method::UUID},       {"PUNCTUATION", Method::PUNCTUATION},
      {"IPV4_NETWORK", Method::IPV4_NETWORK}};
  for (const auto& [text, method] : table) {
    if (name == text) return method;
  }
  return Method::SHA1;
}

void append_hex(std::string& out, const unsigned char* bytes, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 15]);
  }
}

void append_base64(std::string& out, const unsigned char* bytes, size_t n) {
  const size_t start = out.size();
  out.resize(start + 4 * ((n + 2) / 3) + 1);
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + start), bytes, int(n));
  out.resize(start + size_t(written));
}

// Ruby's String#to_i: optional sign and leading digits, 0 when none.
int64_t ruby_to_i(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  int64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9' && n < (int64_t(1) << 40)) n = n * 10 + (text[i++] - '0');
  return negative ? -n : n;
}

class FingerprintFilter : public Filter {
 public:
  FingerprintFilter(const Options& options, PluginContext& context)
      : metrics_(context.metrics), log_(logging::get("filter.fingerprint")) {
    method_ = parse_method(options.get_string("method"));
    for (const std::string& name : options.get_string_array("source")) {
      std::string error;
      std::optional<FieldRef> ref = FieldRef::parse(name, &error);
      if (!ref) {
        throw config::ConfigError(options.position("source"),
                                  "fingerprint: invalid field reference `" + name + "` in source: " + error);
      }
      sources_.push_back({name, *ref});
    }
    // Sorted by name as written: the concatenation and PUNCTUATION walk them in Ruby's sort order.
    sorted_sources_ = sources_;
    std::sort(sorted_sources_.begin(), sorted_sources_.end(),
              [](const Source& a, const Source& b) { return a.name < b.name; });
    const std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                            : context.settings                ? context.settings->ecs_compatibility
                                                              : "v8";
    const std::string target = options.has("target") ? options.get_string("target")
                               : ecs == "disabled"    ? "fingerprint"
                                                      : "[event][hash]";
    std::string error;
    std::optional<FieldRef> target_ref = FieldRef::parse(target, &error);
    if (!target_ref || target_ref->empty()) {
      throw config::ConfigError(options.position("target"), "fingerprint: invalid target `" + target + "`: " + error);
    }
    target_ = *target_ref;
    has_key_ = options.has("key");
    key_ = options.get_string("key");
    base64_ = options.get_bool("base64encode");
    concatenate_sources_ = options.get_bool("concatenate_sources");
    concatenate_all_fields_ = options.get_bool("concatenate_all_fields");

    switch (method_) {
      case Method::SHA1: digest_ = EVP_sha1(); break;
      case Method::SHA256: digest_ = EVP_sha256(); break;
      case Method::SHA384: digest_ = EVP_sha384(); break;
      case Method::SHA512: digest_ = EVP_sha512(); break;
      case Method::MD5: digest_ = EVP_md5(); break;
      case Method::IPV4_NETWORK:
        if (!has_key_) {
          throw config::ConfigError(options.position("method"),
                                    "fingerprint: Key value is empty. please fill in a subnet prefix length");
        }
        prefix_length_ = ruby_to_i(key_);
        break;
      case Method::PUNCTUATION: {
        int code = 0;
        PCRE2_SIZE offset = 0;
        // Logstash: gsub(/[^[\p{P}\p{S}]]/, '') keeps only Unicode punctuation and symbols.
        punctuation_.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>("[^\\p{P}\\p{S}]+"), PCRE2_ZERO_TERMINATED,
                                         PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &code, &offset, nullptr));
        if (!punctuation_) throw std::runtime_error("fingerprint: cannot compile the punctuation pattern");
        pcre2_jit_compile(punctuation_.get(), PCRE2_JIT_COMPLETE);
        break;
      }
      default: break;
    }
    if (metrics_) failures_ = &metrics_->counter("failures");
  }

  bool filter(Event& event, FilterContext&) override {
    switch (method_) {
      case Method::UUID: event.put(target_).set_string(random_uuid()); return true;
      case Method::PUNCTUATION:
        for (const Source& source : sorted_sources_) {
          const Value* value = event.get(source.ref);
          if (!value) continue;
          thread_local std::string text;
          text.clear();
          append_ruby_to_s(text, *value);
          std::string kept = punctuation_only(text);
          event.put(target_).set_string(kept);
        }
        return true;
      default: break;
    }
    if (concatenate_sources_ || concatenate_all_fields_) {
      thread_local std::string text;
      text.clear();
      if (concatenate_all_fields_) {
        // Logstash: deep_sort_hashes(event.to_hash), i.e. every field but @metadata, sorted by name.
        std::vector<const Object::Entry*> fields;
        for (const Object::Entry& entry : event.fields()) fields.push_back(&entry);
        std::sort(fields.begin(), fields.end(),
                  [](const Object::Entry* a, const Object::Entry* b) { return a->key < b->key; });
        for (const Object::Entry* entry : fields) {
          text.push_back('|');
          text += entry->key;
          text.push_back('|');
          append_sorted_to_s(text, entry->value);
        }
      } else {
        for (const Source& source : sorted_sources_) {
          text.push_back('|');
          text += source.name;
          text.push_back('|');
          if (const Value* value = event.get(source.ref)) append_sorted_to_s(text, *value);
        }
      }
      text.push_back('|');
      Value result;
      if (!fingerprint(Value(std::string_view(text)), result)) return fail(event);
      event.put(target_) = std::move(result);
      return true;
    }
    for (const Source& source : sources_) {
      const Value* value = event.get(source.ref);
      if (!value) continue;
      Value result;
      if (value->is_array()) {
        Array hashes;
        hashes.reserve(value->as_array().size());
        for (const Value& item : value->as_array()) {
          Value one;
          if (!fingerprint(item, one)) return fail(event);
          hashes.push_back(std::move(one));
        }
        result = Value(std::move(hashes));
      } else if (!fingerprint(*value, result)) {
        return fail(event);
      }
      event.put(target_) = std::move(result);
    }
    return true;
  }

 private:
  struct Source {
    std::string name;  // as written: part of the concatenated text
    FieldRef ref;
  };
  struct CodeDeleter {
    void operator()(pcre2_code* code) const { pcre2_code_free(code); }
  };

  // An input Logstash would raise on (an invalid IP for IPV4_NETWORK): logged, counted, event goes on.
  bool fail(Event&) {
    if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
    if (failures_) failures_->fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  // "#{value}" after deep_sort_hashes (nested hashes print with sorted keys).
  static void append_sorted_to_s(std::string& out, const Value& value) {
    if (value.is_object() || value.is_array()) append_ruby_to_s(out, deep_sort_objects(value));
    else append_ruby_to_s(out, value);
  }

  bool fingerprint(const Value& value, Value& result) const {
    switch (method_) {
      case Method::MURMUR3: {
        if (value.is_int()) {
          // MurmurHash3::V32.int64_hash: the 8 bytes of the integer, little-endian.
          unsigned char bytes[8];
          const uint64_t n = uint64_t(value.as_int());
          for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(n >> (8 * i));
          result.set_int(int64_t(murmur3::x86_32(bytes, 8, 0)));
          return true;
        }
        const std::string& text = to_s(value);
        result.set_int(int64_t(murmur3::x86_32(text.data(), text.size(), 0)));
        return true;
      }
      case Method::MURMUR3_128: {
        unsigned char digest[16];
        if (value.is_int()) {
          const int64_t n = value.as_int();
          unsigned char bytes[8];
          for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(uint64_t(n) >> (8 * i));
          // int32_hash for values that fit 32 bits, int64_hash otherwise.
          const bool fits32 = n >= INT32_MIN && n <= INT32_MAX;
          murmur3::x64_128(bytes, fits32 ? 4 : 8, 2, digest);
        } else {
          const std::string& text = to_s(value);
          murmur3::x64_128(text.data(), text.size(), 2, digest);
        }
        std::string& out = result.make_string();
        if (base64_) append_base64(out, digest, 16);
        else append_hex(out, digest, 16);
        return true;
      }
      case Method::IPV4_NETWORK: return ipv4_network(to_s(value), result);
      default: return openssl_digest(to_s(value), result);
    }
  }

  static const std::string& to_s(const Value& value) {
    if (value.is_string()) return value.as_string();
    thread_local std::string text;
    text.clear();
    append_sorted_to_s(text, value);
    return text;
  }

  bool openssl_digest(const std::string& data, Value& result) const {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (has_key_) {
      if (!HMAC(digest_, key_.data(), int(key_.size()), reinterpret_cast<const unsigned char*>(data.data()),
                data.size(), digest, &length)) {
        return false;
      }
    } else {
      thread_local std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
      if (!EVP_DigestInit_ex(context.get(), digest_, nullptr) ||
          !EVP_DigestUpdate(context.get(), data.data(), data.size()) ||
          !EVP_DigestFinal_ex(context.get(), digest, &length)) {
        return false;
      }
    }
    std::string& out = result.make_string();
    if (base64_) append_base64(out, digest, length);
    else append_hex(out, digest, length);
    return true;
  }

  // IPAddr.new(text).mask(key).to_s: IPv4 or IPv6, prefix applied, printed back.
  bool ipv4_network(const std::string& text, Value& result) const {
    unsigned char bytes[16] = {};
    int family = AF_INET;
    size_t width = 4;
    if (inet_pton(AF_INET, text.c_str(), bytes) != 1) {
      if (inet_pton(AF_INET6, text.c_str(), bytes) != 1) {
        log_->debug("fingerprint: `{}` is not an IP address", text);
        return false;
      }
      family = AF_INET6;
      width = 16;
    }
    if (prefix_length_ < 0 || prefix_length_ > int64_t(width * 8)) {
      log_->debug("fingerprint: invalid prefix length {} for {}", prefix_length_, text);
      return false;
    }
    for (size_t bit = size_t(prefix_length_); bit < width * 8; ++bit) {
      bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
    }
    char printed[INET6_ADDRSTRLEN];
    if (!inet_ntop(family, bytes, printed, sizeof printed)) return false;
    result.set_string(printed);
    return true;
  }

  std::string punctuation_only(const std::string& text) const {
    bool ascii = true;
    for (unsigned char c : text) ascii = ascii && c < 0x80;
    std::string kept;
    if (ascii) {
      // In ASCII, Unicode's P and S categories are exactly the printable non-alphanumerics.
      for (char c : text) {
        if (std::ispunct(static_cast<unsigned char>(c))) kept.push_back(c);
      }
      return kept;
    }
    kept.resize(text.size() + 1);
    PCRE2_SIZE length = kept.size();
    const int rc = pcre2_substitute(punctuation_.get(), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                                    PCRE2_SUBSTITUTE_GLOBAL, nullptr, nullptr, reinterpret_cast<PCRE2_SPTR>(""), 0,
                                    reinterpret_cast<PCRE2_UCHAR*>(kept.data()), &length);
    if (rc < 0) return {};
    kept.resize(length);
    return kept;
  }

  static std::string random_uuid() {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    const uint64_t high = generator(), low = generator();
    unsigned char bytes[16];
    for (int i = 0; i < 8; ++i) {
      bytes[i] = static_cast<unsigned char>(high >> (8 * i));
      bytes[8 + i] = static_cast<unsigned char>(low >> (8 * i));
    }
    bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
    bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
    std::string out;
    out.reserve(36);
    for (int i = 0; i < 16; ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
      append_hex(out, bytes + i, 1);
    }
    return out;
  }

  PluginMetrics* metrics_ = nullptr;
  std::atomic<uint64_t>* failures_ = nullptr;
  std::shared_ptr<spdlog::logger> log_;
  Method method_ = Method::SHA1;
  std::vector<Source> sources_, sorted_sources_;
  FieldRef target_;
  bool has_key_ = false;
  std::string key_;
  bool base64_ = false;
  bool concatenate_sources_ = false, concatenate_all_fields_ = false;
  const EVP_MD* digest_ = nullptr;
  int64_t prefix_length_ = 0;
  std::unique_ptr<pcre2_code, CodeDeleter> punctuation_;
};

const RegisterFilter registration{fingerprint_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<FingerprintFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
