#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "protocols/sse/sse_parser.h"

using namespace shadowmeter;

namespace {

struct Got {
  std::string type, data, id;
  bool operator==(const Got&) const = default;
};

struct Run {
  std::vector<Got> events;
  sse::Parser parser;
  explicit Run(std::size_t max = 4u << 20)
      : parser(
            [this](const sse::Event& e) {
              events.push_back({std::string(e.type), std::string(e.data), std::string(e.id)});
            },
            max) {}
};

std::vector<Got> parse(std::string_view s, std::size_t max = 4u << 20) {
  Run r(max);
  r.parser.feed(s);
  r.parser.finish();
  return r.events;
}

const std::string kOpenAiStream =
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
    ": keep-alive\n\n"
    "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":17,\"completion_tokens\":29}}\n\n"
    "data: [DONE]\n\n";

}  // namespace

TEST_CASE("an OpenAI-style stream: one event per data block, comments ignored") {
  const auto ev = parse(kOpenAiStream);
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].type == "message");
  CHECK(ev[1].data ==
        "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":17,\"completion_tokens\":29}}");
  CHECK(ev[2].data == "[DONE]");
}

TEST_CASE("Anthropic-style named events, multi-line data, ids that persist") {
  const auto ev = parse(
      "event: message_start\ndata: {\"a\":1}\nid: 7\n\n"
      "event: content_block_delta\ndata: line one\ndata: line two\ndata\n\n"
      "data:no space\ndata:  two spaces\n\n");
  REQUIRE(ev.size() == 3);
  CHECK(ev[0] == Got{"message_start", "{\"a\":1}", "7"});
  CHECK(ev[1] == Got{"content_block_delta", "line one\nline two\n", "7"});  // "data" alone: an empty line
  CHECK(ev[2] == Got{"message", "no space\n two spaces", "7"});
}

TEST_CASE("fields: retry and unknown ignored, id with NUL ignored, no data means no event") {
  const auto ev = parse("retry: 1000\nfoo: bar\nevent: ping\n\nid: a\n" + std::string("id: b\0c\n", 8) +
                        "data: x\n\ndata\n\nevent: only\nid: 9\n\ndata: after\n\n");
  REQUIRE(ev.size() == 3);
  CHECK(ev[0] == Got{"message", "x", "a"});
  CHECK(ev[1] == Got{"message", "", "a"});
  CHECK(ev[2] == Got{"message", "after", "9"});  // event type reset after "only"; id kept
}

TEST_CASE("CR, LF and CRLF line ends, with CRLF split across feeds") {
  const std::vector<Got> want = {{"message", "a\nb", ""}, {"x", "c", ""}};
  CHECK(parse("data: a\rdata: b\r\revent: x\rdata: c\r\r") == want);
  CHECK(parse("data: a\ndata: b\n\nevent: x\ndata: c\n\n") == want);
  CHECK(parse("data: a\r\ndata: b\r\n\r\nevent: x\r\ndata: c\r\n\r\n") == want);
  Run r;
  r.parser.feed("data: a\r");
  r.parser.feed("\ndata: b\r");
  r.parser.feed("\n\r");
  r.parser.feed("\nevent: x\r\ndata: c\r\n\r");
  CHECK(r.events.size() == 2);  // a lone CR already ends the line: the LF after it is not a new one
  r.parser.feed("\n");
  CHECK(r.events == want);
}

TEST_CASE("a leading BOM is stripped once, even split; a later one is data") {
  const std::string bom = "\xEF\xBB\xBF";
  CHECK(parse(bom + "data: x\n\n") == std::vector<Got>{{"message", "x", ""}});
  CHECK(parse(bom + bom + "data: x\n\n").empty());  // the second BOM makes the field name unknown
  Run r;
  for (char c : bom + "data: y\n\n") r.parser.feed(std::string_view(&c, 1));
  CHECK(r.events == std::vector<Got>{{"message", "y", ""}});
  CHECK(parse("\xEF\xBB"
              "data: z\n\n")
            .empty());  // a broken BOM is kept as bytes of the field name
  CHECK(parse("\xEF"
              "\n"
              "data: z\n\n") == std::vector<Got>{{"message", "z", ""}});
}

TEST_CASE("every split gives the same events") {
  const std::string stream =
      "\xEF\xBB\xBF" + kOpenAiStream + "event: e\r\ndata: 1\r\ndata: 2\r\rid: q\ndata: 3\r\n\r\n";
  const auto want = parse(stream);
  REQUIRE(want.size() == 5);
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    for (std::size_t j = i; j <= stream.size(); j += 7) {
      Run r;
      r.parser.feed(std::string_view(stream).substr(0, i));
      r.parser.feed(std::string_view(stream).substr(i, j - i));
      r.parser.feed(std::string_view(stream).substr(j));
      r.parser.finish();
      if (r.events != want) FAIL("split at " << i << "," << j);
    }
  }
}

TEST_CASE("an oversized event is dropped and counted; the next one is delivered") {
  const std::string big(200, 'x');
  const std::string stream =
      "data: " + big + "\ndata: more\n\ndata: " + big.substr(0, 90) + "\n\ndata: small\n\n";
  for (std::size_t piece : {std::size_t{1}, std::size_t{3}, stream.size()}) {
    Run r(100);
    for (std::size_t i = 0; i < stream.size(); i += piece)
      r.parser.feed(std::string_view(stream).substr(i, piece));
    REQUIRE(r.events.size() == 2);
    CHECK(r.events[0].data == big.substr(0, 90));
    CHECK(r.events[1].data == "small");
    CHECK(r.parser.stats().oversized == 1);
    CHECK(r.parser.stats().events == 2);
  }
}

TEST_CASE("gap drops the partial event and resumes after the next blank line") {
  Run r;
  r.parser.feed("data: first\n\ndata: partial");
  r.parser.gap();
  r.parser.feed("lost tail\ndata: also dropped\n\ndata: next\n\n");
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[0].data == "first");
  CHECK(r.events[1].data == "next");
  // A gap right at a line end: the following line could belong to a cut event, so it is skipped.
  r.parser.gap();
  r.parser.feed("\ndata: dropped\n\ndata: kept\n\n");
  REQUIRE(r.events.size() == 3);
  CHECK(r.events[2].data == "kept");
  CHECK(r.parser.stats().events == 3);
}

TEST_CASE("finish discards an event without its blank line") {
  Run r;
  r.parser.feed("data: complete\n\ndata: no blank line\n");
  r.parser.finish();
  REQUIRE(r.events.size() == 1);
  r.parser.feed("data: fresh\n\n");
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[1].data == "fresh");
}
