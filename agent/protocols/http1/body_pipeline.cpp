#include "protocols/http1/body_pipeline.h"

#include <algorithm>

#include "protocols/http1/syntax.h"

namespace shadowmeter::http1 {

using encoding::Status;

void CodingList::add(encoding::Coding c) {
  if (c == encoding::Coding::identity) return;
  if (c == encoding::Coding::unknown || count == kMax) {
    unsupported = true;
    return;
  }
  items[count++] = c;
}

void CodingList::add_list(std::string_view value) {
  while (true) {
    const auto comma = value.find(',');
    const auto token = syntax::trim_ows(value.substr(0, comma));
    if (!token.empty()) add(encoding::parse_coding(token));
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

BodyPipeline::BodyPipeline(MessageSink& sink, const Limits& limits, ParserStats& stats)
    : sink_(sink), limits_(limits), stats_(stats) {
  to_sink_ = [this](std::string_view s) {
    decoded_ += s.size();
    sink_.on_body(s);
  };
  to_second_ = [this](std::string_view s) {
    if (second_status_ == Status::ok) second_status_ = second_->feed(s, to_sink_);
  };
}

void BodyPipeline::start(bool deliver, const CodingList& codings) {
  codings_ = codings;
  delivering_ = deliver;
}

void BodyPipeline::open_decoders() {
  decoders_open_ = true;
  if (codings_.unsupported) {
    stop(Outcome::decode_error);
    return;
  }
  if (codings_.count == 0) return;
  first_ = encoding::make_decoder(codings_.items[codings_.count - 1], limits_.max_decoded_bytes);
  if (codings_.count == 2) second_ = encoding::make_decoder(codings_.items[0], limits_.max_decoded_bytes);
}

void BodyPipeline::feed(std::string_view wire) {
  wire_ += wire.size();
  if (!delivering_ || wire.empty()) return;
  if (!decoders_open_) {
    open_decoders();
    if (!delivering_) return;
  }
  const std::uint64_t room = limits_.max_body_bytes - std::min(limits_.max_body_bytes, delivered_wire_);
  if (wire.size() > room) {
    const auto part = wire.substr(0, static_cast<std::size_t>(room));
    delivered_wire_ += part.size();
    if (!part.empty()) decode(part);
    stop(Outcome::body_limit);
    return;
  }
  delivered_wire_ += wire.size();
  decode(wire);
}

void BodyPipeline::decode(std::string_view wire) {
  if (!first_) {
    to_sink_(wire);
    return;
  }
  const Status st = first_->feed(wire, second_ ? to_second_ : to_sink_);
  check(st, second_status_);
}

void BodyPipeline::check(Status first, Status second) {
  if (first == Status::error || second == Status::error) {
    stop(Outcome::decode_error);
  } else if (first == Status::limit || second == Status::limit) {
    stop(Outcome::decode_limit);
  }
}

void BodyPipeline::stop(Outcome why) {
  if (!delivering_) return;
  delivering_ = false;
  outcome_ = why;
  switch (why) {
    case Outcome::decode_error:
      ++stats_.decode_errors;
      break;
    case Outcome::decode_limit:
      ++stats_.decode_limits;
      break;
    case Outcome::body_limit:
      ++stats_.body_limits;
      break;
    default:
      break;
  }
}

MessageEnd BodyPipeline::finish(Outcome framing) {
  if (framing == Outcome::complete && delivering_ && first_) {
    // A compressed stream cut short is a decode error even when the framing was complete.
    const Status st = first_->finish(second_ ? to_second_ : to_sink_);
    if (second_ && second_status_ == Status::ok) second_status_ = second_->finish(to_sink_);
    check(st, second_status_);
  }
  const MessageEnd end{framing != Outcome::complete ? framing : outcome_, wire_, decoded_};
  first_.reset();
  second_.reset();
  second_status_ = Status::ok;
  codings_ = {};
  delivering_ = false;
  decoders_open_ = false;
  outcome_ = Outcome::complete;
  wire_ = delivered_wire_ = decoded_ = 0;
  return end;
}

}  // namespace shadowmeter::http1
