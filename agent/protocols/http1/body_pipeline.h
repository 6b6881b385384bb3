// The body path of one HTTP/1 message: wire-size limit, Content-Encoding decoding with the
// decoded-size limit, and delivery to the sink. Framing (lengths, chunks) is the parser's job.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "protocols/encoding/decoder.h"
#include "protocols/http1/http1_parser.h"

namespace shadowmeter::http1 {

// Codings in the order the sender applied them; identity is dropped. More than two, or one we
// cannot decode, makes the list unsupported (the body is then framed but not delivered).
struct CodingList {
  static constexpr std::size_t kMax = 2;
  std::array<encoding::Coding, kMax> items{};
  std::size_t count = 0;
  bool unsupported = false;

  void add(encoding::Coding c);
  // A header value: comma-separated tokens.
  void add_list(std::string_view value);
};

class BodyPipeline {
 public:
  BodyPipeline(MessageSink& sink, const Limits& limits, ParserStats& stats);
  BodyPipeline(const BodyPipeline&) = delete;
  BodyPipeline& operator=(const BodyPipeline&) = delete;

  // A body starts; decoders are created on its first byte so empty bodies cost nothing.
  void start(bool deliver, const CodingList& codings);
  // Wire bytes of the body, already de-chunked.
  void feed(std::string_view wire);
  // The message ended as `framing` says; returns what on_end reports and resets for the next body.
  MessageEnd finish(Outcome framing);

 private:
  void open_decoders();
  void decode(std::string_view wire);
  void check(encoding::Status first, encoding::Status second);
  void stop(Outcome why);

  MessageSink& sink_;
  const Limits& limits_;
  ParserStats& stats_;
  CodingList codings_;
  std::unique_ptr<encoding::Decoder> first_;   // undoes the coding applied last
  std::unique_ptr<encoding::Decoder> second_;  // undoes the coding applied first, when two
  encoding::Status second_status_ = encoding::Status::ok;
  bool delivering_ = false;
  bool decoders_open_ = false;
  Outcome outcome_ = Outcome::complete;
  std::uint64_t wire_ = 0;
  std::uint64_t delivered_wire_ = 0;
  std::uint64_t decoded_ = 0;
  // Built once so that feeding does not construct callables.
  encoding::Decoder::Output to_sink_;
  encoding::Decoder::Output to_second_;
};

}  // namespace shadowmeter::http1
