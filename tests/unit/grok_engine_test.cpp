// grok: Oniguruma translation, %{...} expansion, capture semantics, options, timeouts,
// the Hyperscan pre-filter, and errors at startup.
#include <gtest/gtest.h>

#include <string>

#include "core/event.h"
#include "core/json.h"
#include "grok/ascii_variant.h"
#include "grok/grok_engine.h"
#include "grok/grok_pattern.h"
#include "grok/onig_translate.h"
#include "grok/prefilter.h"

namespace sluice::grok {
namespace {

Event event_with(std::string_view message) {
  Event e;
  e.set(FieldRef::of("message"), Value(message));
  return e;
}

const Value* field(const Event& e, std::string_view ref) { return e.get(FieldRef::of(ref)); }

GrokSettings settings(std::vector<std::string> patterns, std::string ecs = "disabled") {
  GrokSettings s;
  s.match = {{"message", std::move(patterns)}};
  s.ecs_compatibility = std::move(ecs);
  return s;
}

// ---- translation ----------------------------------------------------------------------

TEST(GrokTranslate, NamedGroupsGetGeneratedNames) {
  auto t = translate_onig("(?<[a][b]>x)(?<@c.d>y)(?<[a][b]>z)");
  EXPECT_EQ(t.pcre, "(?<g1>x)(?<g2>y)(?<g3>z)");
  ASSERT_EQ(t.group_names.size(), 3u);
  EXPECT_EQ(t.group_names[0], "[a][b]");
  EXPECT_EQ(t.group_names[1], "@c.d");
}

TEST(GrokTranslate, HexDigitEscapeAndDotAllOption) {
  EXPECT_EQ(translate_onig("\\h+").pcre, "[0-9a-fA-F]+");
  EXPECT_EQ(translate_onig("[\\h_]").pcre, "[0-9a-fA-F_]");
  EXPECT_EQ(translate_onig("(?m)a.b").pcre, "(?s)a.b");
  EXPECT_EQ(translate_onig("(?i-m:x)").pcre, "(?i-s:x)");
}

TEST(GrokTranslate, NestedClassesAndPosixBrackets) {
  // Ruby reads [[[:alnum:]]_] as a class holding a nested class: one flat class in PCRE2.
  auto t = translate_onig("[[[:alnum:]]_%]");
  EXPECT_EQ(t.pcre, "[\\p{L}\\p{M}\\p{Nd}_%]");
  EXPECT_TRUE(t.unicode_sensitive);
  EXPECT_EQ(translate_onig("[a[bc]]").pcre, "[abc]");
  EXPECT_EQ(translate_onig("[]a]").pcre, "[\\]a]");
}

TEST(GrokTranslate, QuantifierStacking) {
  EXPECT_EQ(translate_onig("a{,3}").pcre, "a{0,3}");
  EXPECT_EQ(translate_onig("a{2}+").pcre, "(?:a{2})+");    // not possessive in Ruby
  EXPECT_EQ(translate_onig("a{2}?").pcre, "(?:a{2})?");    // fixed interval then optional
  EXPECT_EQ(translate_onig("a{2,3}?").pcre, "a{2,3}?");    // lazy
  EXPECT_EQ(translate_onig("a*+").pcre, "a*+");            // possessive
  EXPECT_EQ(translate_onig(".?*").pcre, ".*");             // folded, as Onigmo does
  EXPECT_EQ(translate_onig("(?:[a-z]+)+x").pcre, "[a-z]+x");
  EXPECT_EQ(translate_onig("(?:ab+)+").pcre, "(?:ab+)+");  // not a single-character repeat
  EXPECT_EQ(translate_onig("x{a}").pcre, "x\\{a}");        // not an interval: literal
}

TEST(GrokTranslate, NamedBackReferencesResolveToGeneratedNames) {
  EXPECT_EQ(translate_onig("(?<q>['\"])\\w+\\k<q>").pcre, "(?<g1>['\"])\\w+\\k<g1>");
  // A name used twice: Onigmo tries the groups from the last one.
  EXPECT_EQ(translate_onig("(?<n>a)|(?<n>b)\\k<n>").pcre, "(?<g1>a)|(?<g2>b)(?:\\k<g2>|\\k<g1>)");
}

TEST(GrokTranslate, RubyEscapes) {
  EXPECT_EQ(translate_onig("\\u00e9").pcre, "\\x{00e9}");
  EXPECT_EQ(translate_onig("\\v").pcre, "\\x0B");
  EXPECT_EQ(translate_onig("\\A\\z\\Z").pcre, "\\A\\z\\Z");
  EXPECT_EQ(translate_onig("\\x41{2}+").pcre, "(?:\\x41{2})+");
}

TEST(GrokTranslate, RejectsWhatCannotBeTranslated) {
  EXPECT_THROW(translate_onig("[a-z&&[^aeiou]]"), GrokError);
  EXPECT_THROW(translate_onig("(?~abc)"), GrokError);
  EXPECT_THROW(translate_onig("a(?s)b"), GrokError);
  EXPECT_THROW(translate_onig("[a[^b]]"), GrokError);
  EXPECT_THROW(translate_onig("(?<x>a)\\k<y>"), GrokError);
  EXPECT_THROW(translate_onig("(a"), GrokError);
}

// ---- expansion and compile errors -----------------------------------------------------

TEST(GrokExpand, ReferencesBecomeGroupsAsInJlsGrok) {
  PatternLibrary lib;
  lib.add("NUM", "\\d+");
  EXPECT_EQ(expand_grok("%{NUM:n:int}", lib, true), "(?<NUM:n:int>\\d+)");
  EXPECT_EQ(expand_grok("%{NUM}", lib, true), "(?:\\d+)");
  EXPECT_EQ(expand_grok("%{NUM}", lib, false), "(?<NUM>\\d+)");
  // Anything after the semantic up to '}' is ignored; a bare "%{" stays literal.
  EXPECT_EQ(expand_grok("%{NUM - the count}", lib, true), "(?:\\d+)");
  EXPECT_EQ(expand_grok("%{ x", lib, true), "%{ x");
  // Inline definition.
  EXPECT_EQ(expand_grok("%{TWO=\\d{2}}-%{TWO:t}", lib, true), "(?:\\d{2})-(?<TWO:t>\\d{2})");
}

TEST(GrokExpand, UndefinedAndRecursivePatternsAreErrors) {
  PatternLibrary lib;
  lib.add("A", "%{B}");
  lib.add("B", "%{A}");
  EXPECT_THROW(expand_grok("%{NOPE}", lib, true), GrokError);
  EXPECT_THROW(expand_grok("%{A}", lib, true), GrokError);
  try {
    GrokEngine engine(settings({"%{NOT_A_PATTERN:x}"}));
    FAIL() << "expected an error";
  } catch (const GrokError& e) {
    EXPECT_NE(std::string(e.what()).find("%{NOT_A_PATTERN:x} not defined"), std::string::npos) << e.what();
  }
  EXPECT_THROW(GrokEngine(settings({"(?<x>a"})), GrokError);
  EXPECT_THROW(GrokEngine(settings({"%{WORD:[bad}"})), GrokError);
}

TEST(GrokLibraryFiles, PatternFileFormat) {
  PatternLibrary lib;
  lib.add_text("# comment\n  INDENTED  a b c\nEMPTY\nTRAILING x \nWIN y\r\n\nLAST z");
  ASSERT_TRUE(lib.find("INDENTED"));
  EXPECT_EQ(*lib.find("INDENTED"), "a b c");
  ASSERT_TRUE(lib.find("EMPTY"));
  EXPECT_EQ(*lib.find("EMPTY"), "");
  EXPECT_EQ(*lib.find("TRAILING"), "x ");  // only the newline is chomped
  EXPECT_EQ(*lib.find("WIN"), "y");
  EXPECT_EQ(*lib.find("LAST"), "z");
}

TEST(GrokLibraryFiles, BuiltinLibraryIsEmbeddedPerMode) {
  const auto& legacy = PatternLibrary::builtin("disabled");
  const auto& ecs = PatternLibrary::builtin("v8");
  ASSERT_TRUE(legacy.find("COMBINEDAPACHELOG"));
  ASSERT_TRUE(ecs.find("COMBINEDAPACHELOG"));
  EXPECT_NE(legacy.find("SYSLOGBASE")->find("logsource"), std::string::npos);
  EXPECT_NE(ecs.find("SYSLOGBASE")->find("[host][hostname]"), std::string::npos);
  EXPECT_GT(legacy.size(), 300u);
  EXPECT_GT(ecs.size(), 350u);
}

// ---- matching and captures ------------------------------------------------------------

TEST(GrokMatch, CapturesWithTypesAndNesting) {
  GrokEngine g(settings({"%{WORD:verb} %{NUMBER:[http][bytes]:int} %{NUMBER:ratio:float} (?<[a][b]>\\w+)"}));
  Event e = event_with("GET 512 0.25 tail");
  ASSERT_EQ(g.process(e), GrokResult::Matched);
  EXPECT_EQ(field(e, "verb")->as_string(), "GET");
  ASSERT_TRUE(field(e, "[http][bytes]")->is_int());
  EXPECT_EQ(field(e, "[http][bytes]")->as_int(), 512);
  ASSERT_TRUE(field(e, "ratio")->is_float());
  EXPECT_DOUBLE_EQ(field(e, "ratio")->as_float(), 0.25);
  EXPECT_EQ(field(e, "[a][b]")->as_string(), "tail");
  EXPECT_FALSE(e.has_tag("_grokparsefailure"));
}

TEST(GrokMatch, FailureTagsAndCustomTags) {
  GrokSettings s = settings({"^%{INT:n}$"});
  s.tag_on_failure = {"no_int", "second"};
  GrokEngine g(s);
  Event e = event_with("abc");
  EXPECT_EQ(g.process(e), GrokResult::Failed);
  EXPECT_TRUE(e.has_tag("no_int"));
  EXPECT_TRUE(e.has_tag("second"));
  EXPECT_FALSE(e.has_tag("_grokparsefailure"));
}

TEST(GrokMatch, ExistingStringBecomesArrayUnlessOverwritten) {
  GrokEngine g(settings({"%{WORD:message}"}));
  Event e = event_with("hello");
  g.process(e);
  const Value* m = field(e, "message");
  ASSERT_TRUE(m->is_array());
  ASSERT_EQ(m->as_array().size(), 2u);
  EXPECT_EQ(m->as_array()[1].as_string(), "hello");

  GrokSettings s = settings({"%{WORD} %{GREEDYDATA:message}"});
  s.overwrite = {"message"};
  GrokEngine g2(s);
  Event e2 = event_with("hello world again");
  g2.process(e2);
  EXPECT_EQ(field(e2, "message")->as_string(), "world again");
}

TEST(GrokMatch, SameFieldTwiceMakesArrayInCaptureOrder) {
  GrokEngine g(settings({"%{WORD:w} %{WORD:w} %{INT:w:int}"}));
  Event e = event_with("a b 3");
  g.process(e);
  const Value* w = field(e, "w");
  ASSERT_TRUE(w->is_array());
  ASSERT_EQ(w->as_array().size(), 3u);
  EXPECT_EQ(w->as_array()[0].as_string(), "a");
  EXPECT_EQ(w->as_array()[1].as_string(), "b");
  EXPECT_EQ(w->as_array()[2].as_int(), 3);
}

TEST(GrokMatch, EmptyCapturesDroppedUnlessKept) {
  GrokEngine g(settings({"a(?<x>\\d*)b(?<y>z)?"}));
  Event e = event_with("ab");
  EXPECT_EQ(g.process(e), GrokResult::Matched);
  EXPECT_EQ(field(e, "x"), nullptr);
  EXPECT_EQ(field(e, "y"), nullptr);

  GrokSettings s = settings({"a(?<x>\\d*)b(?<y>z)?"});
  s.keep_empty_captures = true;
  GrokEngine keep(s);
  Event e2 = event_with("ab");
  keep.process(e2);
  ASSERT_NE(field(e2, "x"), nullptr);
  EXPECT_EQ(field(e2, "x")->as_string(), "");
  ASSERT_NE(field(e2, "y"), nullptr);
  EXPECT_TRUE(field(e2, "y")->is_null());
}

TEST(GrokMatch, RubyNumericCoercion) {
  EXPECT_EQ(ruby_to_i("  -12abc"), -12);
  EXPECT_EQ(ruby_to_i("1_000"), 1000);
  EXPECT_EQ(ruby_to_i("x"), 0);
  EXPECT_DOUBLE_EQ(ruby_to_f("1.5e3x"), 1500.0);
  EXPECT_DOUBLE_EQ(ruby_to_f(".5"), 0.5);
  EXPECT_DOUBLE_EQ(ruby_to_f("-1"), -1.0);
  EXPECT_DOUBLE_EQ(ruby_to_f("abc"), 0.0);
  // An empty :int capture is 0, not empty, so it is kept (as in Logstash).
  GrokEngine g(settings({"^(?<n>%{DATA:n2:int})x$"}));
  Event e = event_with("x");
  g.process(e);
  ASSERT_NE(field(e, "n2"), nullptr);
  EXPECT_EQ(field(e, "n2")->as_int(), 0);
}

TEST(GrokMatch, NamedCapturesOnlyFalseStoresPatternNames) {
  GrokSettings s = settings({"%{INT} %{WORD:w}"});
  s.named_captures_only = false;
  GrokEngine g(s);
  Event e = event_with("42 x");
  g.process(e);
  ASSERT_NE(field(e, "INT"), nullptr);
  EXPECT_EQ(field(e, "INT")->as_string(), "42");
  EXPECT_EQ(field(e, "w")->as_string(), "x");
}

TEST(GrokMatch, TargetNestsCaptures) {
  GrokSettings s = settings({"%{WORD:a} %{WORD:[b][c]}"});
  s.target = "parsed";
  GrokEngine g(s);
  Event e = event_with("x y");
  g.process(e);
  EXPECT_EQ(field(e, "[parsed][a]")->as_string(), "x");
  EXPECT_EQ(field(e, "[parsed][b][c]")->as_string(), "y");
  EXPECT_EQ(field(e, "a"), nullptr);
}

TEST(GrokMatch, BreakOnMatchAndPatternOrder) {
  GrokEngine first(settings({"%{WORD:first}", "%{INT:second}"}));
  Event e = event_with("abc 12");
  first.process(e);
  EXPECT_NE(field(e, "first"), nullptr);
  EXPECT_EQ(field(e, "second"), nullptr);

  GrokSettings s = settings({"%{WORD:first}", "%{INT:second}"});
  s.break_on_match = false;
  GrokEngine all(s);
  Event e2 = event_with("abc 12");
  EXPECT_EQ(all.process(e2), GrokResult::Matched);
  EXPECT_NE(field(e2, "first"), nullptr);
  EXPECT_NE(field(e2, "second"), nullptr);
}

TEST(GrokMatch, SeveralFieldsAndNonStringInput) {
  GrokSettings s;
  s.match = {{"missing", {"^x$"}}, {"code", {"^%{INT:code_copy:int}$"}}};
  GrokEngine g(s);
  Event e;
  e.set(FieldRef::of("code"), Value(int64_t(404)));
  EXPECT_EQ(g.process(e), GrokResult::Matched);
  EXPECT_EQ(field(e, "code_copy")->as_int(), 404);
}

TEST(GrokMatch, ArrayFieldMatchesEachElement) {
  GrokEngine g(settings({"^%{INT:n:int}$"}));
  Event e;
  Array a;
  a.emplace_back("1");
  a.emplace_back("x");
  a.emplace_back("3");
  e.set(FieldRef::of("message"), Value(std::move(a)));
  EXPECT_EQ(g.process(e), GrokResult::Matched);
  // Only a string field turns into an array; the first (integer) value stays, as in Logstash.
  const Value* n = field(e, "n");
  ASSERT_TRUE(n && n->is_int());
  EXPECT_EQ(n->as_int(), 1);
}

TEST(GrokMatch, MetadataCaptures) {
  GrokEngine g(settings({"%{WORD:[@metadata][w]}"}));
  Event e = event_with("hidden");
  g.process(e);
  const Value* w = e.metadata().find("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->as_string(), "hidden");
}

TEST(GrokMatch, OnigurumaSemanticsPreserved) {
  // MULTILINE: . matches a newline, ^ matches after one.
  GrokEngine g(settings({"^b(?<rest>.*)$"}));
  Event e = event_with("a\nb1\nb2");
  ASSERT_EQ(g.process(e), GrokResult::Matched);
  EXPECT_EQ(field(e, "rest")->as_string(), "1\nb2");
  // \h is a hex digit.
  GrokEngine hex(settings({"^(?<h>\\h+)$"}));
  Event e2 = event_with("c0ffee");
  EXPECT_EQ(hex.process(e2), GrokResult::Matched);
  Event e3 = event_with("  ");
  EXPECT_EQ(hex.process(e3), GrokResult::Failed);
}

TEST(GrokMatch, InvalidUtf8InputDoesNotCrash) {
  GrokEngine g(settings({"%{GREEDYDATA:all}", "%{WORD:w}"}));
  std::string bad = "ab\xff\xfe cd \xc3";
  Event e = event_with(bad);
  EXPECT_EQ(g.process(e), GrokResult::Matched);
  // Invalid bytes never match (Logstash's codecs replace them before grok sees them).
  EXPECT_EQ(field(e, "all")->as_string(), "ab");
}

// ---- timeouts -------------------------------------------------------------------------

TEST(GrokTimeout, RunawayRegexIsTaggedNotStalled) {
  GrokSettings s = settings({"^(\\w+\\s?)*$"});
  s.timeout_millis = 50;
  GrokEngine g(s);
  Event e = event_with("An input line that is long enough to make the nested quantifier explode!");
  EXPECT_EQ(g.process(e), GrokResult::TimedOut);
  EXPECT_TRUE(e.has_tag("_groktimeout"));
  EXPECT_FALSE(e.has_tag("_grokparsefailure"));
}

// ---- pre-filter -----------------------------------------------------------------------

TEST(GrokPrefilter, CandidatesAreASupersetAndRejectedPatternsAlwaysRun) {
  auto pf = Prefilter::build({"^foo\\d+", "(?<=x)bar", "baz\\K!"});
  ASSERT_NE(pf, nullptr);
  std::vector<unsigned char> c;
  pf->scan("foo12", c);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_TRUE(c[0]);
  EXPECT_FALSE(c[1]);
  pf->scan("xbar", c);
  EXPECT_FALSE(c[0]);
  EXPECT_TRUE(c[1]);
  if (pf->rejected() == 1) EXPECT_TRUE(c[2]);  // \K is not Hyperscan syntax
}

TEST(GrokPrefilter, SameResultsWithAndWithoutPrefilter) {
  std::vector<std::string> patterns = {"%{SYSLOGBASE} %{GREEDYDATA:msg}", "^%{IPV4:ip} - %{USER:user}",
                                       "%{COMBINEDAPACHELOG}", "%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level}"};
  GrokSettings with = settings(patterns);
  GrokSettings without = settings(patterns);
  without.prefilter = false;
  GrokEngine a(with), b(without);
  EXPECT_GT(a.prefiltered_count(0), 0u);
  const char* lines[] = {
      "Jan  1 06:25:43 mailserver14 postfix/cleanup[21403]: BEF25A72965: message-id=<x@y>",
      "10.0.0.1 - bob [12/Mar/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 200 12 \"-\" \"curl\"",
      "2024-01-01T00:00:00Z ERROR boom", "nothing to see", "", "1.2.3.4 - alice"};
  for (int round = 0; round < 300; ++round) {  // enough to cross the sampling points
    for (const char* line : lines) {
      Event x = event_with(line), y = event_with(line);
      EXPECT_EQ(a.process(x), b.process(y)) << line;
      EXPECT_TRUE(x.fields() == y.fields()) << line;
    }
  }
}

// ---- captures grouped under their parent objects ----------------------------------------

// Parents found once per event must give exactly what a put per capture gives: same fields,
// same key order, arrays for repeated names, targets, @metadata, existing scalars in the way,
// and the fallback cases (an index-like segment, a field that is another capture's parent).
TEST(GrokGroupedCaptures, SameEventsAsOnePutPerCapture) {
  const std::vector<std::vector<std::string>> pattern_sets = {
      {"%{COMBINEDAPACHELOG}"},
      {"<%{POSINT:pri}>%{SYSLOGLINE}"},
      {"(?<[a][b]>\\w+) (?<[a][c][d]>\\w+)(?: (?<[x]>\\w+))? (?<[a][b]>\\w+)"},
      {"(?<[@metadata][m][n]>\\w+) (?<[@metadata][o]>\\w+)"},
      {"(?<[a][0]>\\w+) (?<[a][1]>\\w+)"},
      {"(?<[a]>\\w+) (?<[a][b]>\\w+)"},
      {"(?<[a][b]>\\w+) (?<[a]>\\w+)"},
      {"(?<[a][b]>\\w+) (?<[a]>\\w+) (?<[a][c]>\\w+)"},
      {"(?<[p][q]>\\w+) (?<[@metadata][r]>\\w+)"},
  };
  const char* lines[] = {
      "10.0.0.1 - bob [12/Mar/2024:10:00:00 +0000] \"GET /x HTTP/1.1\" 200 12 \"-\" \"curl\"",
      "::1 - - [12/Mar/2024:10:00:00 +0000] \"-\" 400 - \"http://r/\" \"-\"",
      "<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed",
      "<13>Oct 11 22:14:15 host app: no pid here",
      "one two three four", "one two four", "alpha beta",
  };
  for (const auto& patterns : pattern_sets) {
    for (const char* ecs : {"disabled", "v1"}) {
      for (bool overwrite : {false, true}) {
        for (const char* target : {"", "t"}) {
          GrokSettings grouped = settings(patterns, ecs);
          grouped.break_on_match = false;
          grouped.target = target;
          if (overwrite) grouped.overwrite = {"message", "[a][b]", "[x]", "[a]", "timestamp"};
          GrokSettings one_by_one = grouped;
          one_by_one.group_captures = false;
          GrokEngine a(grouped), b(one_by_one);
          for (const char* line : lines) {
            Event x = event_with(line), y = event_with(line);
            // Fields in the way: a scalar where an object goes, an existing value to append to.
            for (Event* e : {&x, &y}) {
              e->set(FieldRef::of("[a]"), Value("scalar"));
              e->set(FieldRef::of("[x]"), Value("before"));
              e->set(FieldRef::of("[http]"), Value(int64_t(7)));
            }
            ASSERT_EQ(a.process(x), b.process(y)) << patterns[0] << " / " << line;
            std::string jx, jy;
            json_append_event(jx, x);
            json_append_event(jy, y);
            ASSERT_EQ(jx, jy) << patterns[0] << " / " << line << " / " << ecs << " / " << target;
            ASSERT_TRUE(x.metadata() == y.metadata()) << patterns[0] << " / " << line;
          }
        }
      }
    }
  }
}

// ---- the byte-mode twin for ASCII subjects ----------------------------------------------

TEST(GrokAsciiVariant, NonAsciiCharactersBecomeItemsThatNeverMatchAscii) {
  EXPECT_EQ(ascii_variant("a.b[^x]"), "a.b[^x]");  // nothing to change
  EXPECT_EQ(ascii_variant("[Mm](?:a|\xc3\xa4)?r"), "[Mm](?:a|[^\\x00-\\x7F])?r");
  EXPECT_EQ(ascii_variant("x\xc3\xa4?y"), "x[^\\x00-\\x7F]?y");       // still optional
  EXPECT_EQ(ascii_variant("[^\xc3\xa4\\]]"), "[^\\x80\\]]");          // escaped ] stays in the class
  EXPECT_EQ(ascii_variant("[]\xe2\x82\xac[:alpha:]]"), "[]\\x80[:alpha:]]");  // leading ], POSIX class
  EXPECT_EQ(ascii_variant("\\\xc3\xa4"), "[^\\x00-\\x7F]");           // an escaped character is itself
  // Case folding maps the Kelvin sign and the long s onto ASCII letters: no twin.
  EXPECT_EQ(ascii_variant("(?i)\xc3\xa4"), std::nullopt);
  EXPECT_EQ(ascii_variant("(?mi:a)\xc3\xa4"), std::nullopt);
  EXPECT_EQ(ascii_variant("(?x)\xc3\xa4 # c"), std::nullopt);
  EXPECT_EQ(ascii_variant("\\Q\xc3\xa4\\E"), std::nullopt);
  EXPECT_EQ(ascii_variant("(?i)a"), "(?i)a");  // no non-ASCII character to fold
}

// The optional non-ASCII letter of MONTH (`M(?:a|\u00e4)?r`) must still be optional in the twin.
TEST(GrokAsciiVariant, TwinMatchesWhereTheUtfPatternMatches) {
  PatternLibrary library = PatternLibrary::builtin("disabled");
  GrokPattern month("^%{MONTH:m}$", library, true);
  ASSERT_TRUE(month.has_ascii_variant());
  MatchScratch& scratch = MatchScratch::for_this_thread();
  MatchBudget budget;
  for (const char* text : {"Mar", "Mrz", "March", "Jan"}) {
    EXPECT_EQ(month.match(text, scratch, budget), MatchStatus::Match) << text;
    EXPECT_EQ(month.match(text, scratch, budget, false), MatchStatus::Match) << text;
  }
  EXPECT_EQ(month.match("M\xc3\xa4r", scratch, budget), MatchStatus::Match);  // non-ASCII: the UTF pattern
  EXPECT_EQ(month.match("Mxr", scratch, budget), MatchStatus::NoMatch);
}

// Every pattern of both built-in libraries, alone, on ASCII lines of many kinds: the twin finds
// the same groups at the same offsets as the UTF pattern.
TEST(GrokAsciiVariant, EveryBuiltinPatternAgreesWithItsUtfForm) {
  const char* subjects[] = {
      "<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8",
      "Mar  7 04:02:16 avas sshd[12345]: Accepted password for root from 10.0.0.1 port 22 ssh2",
      "2001:db8:8cd0:7d62::3925 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 6352 \"-\" \"curl/8\"",
      "192.168.1.10 - bob [12/Mrz/2024:10:00:00 +0100] \"POST /a?b=c HTTP/2.0\" 404 - \"http://x/\" \"UA\"",
      "2024-01-01T00:00:00.123Z ERROR [main] com.example.Foo: boom (x=1, y=-2.5e3)",
      "Tue May 14 12:00:01 2024 user=alice uid=1000 path=C:\\Windows\\x.exe mac=00:1A:2b:3C:4d:5E",
      "CEF:0|Vendor|Product|1.0|100|name|5|src=10.0.0.1 dst=fe80::1%eth0 spt=1234",
      "   ", "", "-", "0x1F 0755 1e10 +42 -0.5 3.14159 99999999999999999999",
      "host-01.example.com:8443 /var/log/messages a_b.c@d-e.org \"quoted \\\" text\"",
      "Jun 31 25:61:61 line\nwith a newline\tand a tab",
  };
  size_t with_twin = 0, compared = 0;
  for (const char* mode : {"disabled", "v1"}) {
    const PatternLibrary& library = PatternLibrary::builtin(mode);
    for (const std::string& name : library.names()) {
      std::unique_ptr<GrokPattern> pattern;
      try {
        pattern = std::make_unique<GrokPattern>("%{" + name + "}", library, false);
      } catch (const GrokError&) {
        continue;  // a fragment that is not a regex by itself
      }
      if (!pattern->has_ascii_variant()) continue;
      ++with_twin;
      MatchScratch& scratch = MatchScratch::for_this_thread();
      for (const char* subject : subjects) {
        MatchBudget budget;
        MatchStatus twin = pattern->match(subject, scratch, budget, true);
        std::vector<PCRE2_SIZE> twin_offsets;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(scratch.data(pattern->group_count()));
        if (twin == MatchStatus::Match) twin_offsets.assign(ov, ov + 2 * (pattern->group_count() + 1));
        MatchStatus utf = pattern->match(subject, scratch, budget, false);
        ov = pcre2_get_ovector_pointer(scratch.data(pattern->group_count()));
        ASSERT_EQ(twin, utf) << name << " on " << subject;
        if (utf == MatchStatus::Match) {
          std::vector<PCRE2_SIZE> utf_offsets(ov, ov + 2 * (pattern->group_count() + 1));
          ASSERT_EQ(twin_offsets, utf_offsets) << name << " on " << subject;
        }
        ++compared;
      }
    }
  }
  // Both libraries have a few hundred patterns; all of them should get a twin.
  EXPECT_GT(with_twin, 300u);
  EXPECT_GT(compared, 3000u);
}

}  // namespace
}  // namespace sluice::grok
