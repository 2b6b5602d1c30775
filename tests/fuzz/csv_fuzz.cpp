// libFuzzer target for the csv filter: any bytes, with several separator / quote settings, must
// either parse into columns or get the failure tag; never crash, never hang.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../unit/parsers_test_support.h"

namespace {

const std::vector<std::unique_ptr<sluice::Filter>>& filters() {
  static std::vector<std::unique_ptr<sluice::Filter>> all = [] {
    std::vector<std::unique_ptr<sluice::Filter>> list;
    list.push_back(sluice::test::make_filter("csv", R"(columns => ["a", "b", "c"])"));
    list.push_back(sluice::test::make_filter("csv", R"(separator => ";" quote_char => "'" target => "t")"));
    list.push_back(sluice::test::make_filter("csv", R"(separator => "||" skip_empty_columns => true)"));
    list.push_back(sluice::test::make_filter(
        "csv", R"(columns => ["n", "f", "b"] convert => { "n" => "integer" "f" => "float" "b" => "boolean" })"));
    list.push_back(sluice::test::make_filter("csv", R"(autodetect_column_names => true skip_header => true)"));
    return list;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& all = filters();
  sluice::Filter& filter = *all[data[0] % all.size()];
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  sluice::Event event;
  event.put(sluice::FieldRef::of("message")).set_string(text);
  sluice::test::TestFilterContext context;
  bool matched = filter.filter(event, context);
  // A line that parsed carries no failure tag.
  if (matched && event.has_tag("_csvparsefailure")) std::abort();
  return 0;
}
