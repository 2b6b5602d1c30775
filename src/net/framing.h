// Stream framers for the network inputs, with a cap on a frame's size so one client sending an
// endless line cannot grow memory: newline framing (tcp) and RFC 6587 syslog framing (octet
// counting "LEN SP MSG", or newline-terminated, detected per frame as rsyslog does).
// Complete frames are handed out as views into the caller's chunk when they are not split.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace sluice::net {

// Newline-delimited frames. A frame longer than max_bytes is handed out cut to max_bytes with
// truncated = true, and the rest up to the next newline is skipped.
class LineFramer {
 public:
  explicit LineFramer(size_t max_bytes) : max_(max_bytes ? max_bytes : 1) {}

  // on_frame(std::string_view frame, bool truncated) for each complete line (newline removed).
  template <typename OnFrame>
  void feed(std::string_view data, OnFrame&& on_frame) {
    while (!data.empty()) {
      const char* nl = static_cast<const char*>(std::memchr(data.data(), '\n', data.size()));
      if (skipping_) {
        if (!nl) return;
        skipping_ = false;
        data.remove_prefix(size_t(nl - data.data()) + 1);
        continue;
      }
      if (!nl) {
        if (pending_.size() + data.size() > max_) {
          pending_.append(data.substr(0, max_ - pending_.size()));
          on_frame(std::string_view(pending_), true);
          reset_pending();
          skipping_ = true;
          return;
        }
        pending_.append(data);
        return;
      }
      size_t len = size_t(nl - data.data());
      if (pending_.empty()) {
        if (len > max_) on_frame(data.substr(0, max_), true);
        else on_frame(data.substr(0, len), false);
      } else if (pending_.size() + len > max_) {
        pending_.append(data.substr(0, max_ - pending_.size()));
        on_frame(std::string_view(pending_), true);
        reset_pending();
      } else {
        pending_.append(data.substr(0, len));
        on_frame(std::string_view(pending_), false);
        reset_pending();
      }
      data.remove_prefix(len + 1);
    }
  }

  // The unterminated last line (at connection close), if any.
  template <typename OnFrame>
  void finish(OnFrame&& on_frame) {
    if (!pending_.empty() && !skipping_) on_frame(std::string_view(pending_), false);
    reset_pending();
    skipping_ = false;
  }

  size_t buffered() const { return pending_.size(); }

 private:
  void reset_pending() {
    pending_.clear();
    if (pending_.capacity() > 64 * 1024) pending_.shrink_to_fit();  // a long line once: give it back
  }

  size_t max_;
  std::string pending_;
  bool skipping_ = false;
};

// RFC 6587 framing for syslog over TCP. Each frame starting with a digit 1-9 is read as
// octet-counted ("123 <34>1 ..."), any other as newline-terminated (trailing CR removed).
// Errors (a count of more than 9 digits or not followed by a space) fall back to newline
// framing for that frame, so a peer's garbage never stalls the stream. An octet-counted frame
// over max_bytes is handed out cut (truncated = true) and its remaining octets are skipped.
class SyslogFramer {
 public:
  explicit SyslogFramer(size_t max_bytes) : max_(max_bytes ? max_bytes : 1), lines_(max_bytes) {}

  template <typename OnFrame>
  void feed(std::string_view data, OnFrame&& on_frame) {
    while (!data.empty()) {
      switch (state_) {
        case State::FrameStart: {
          char c = data.front();
          if (c >= '1' && c <= '9') {
            state_ = State::Count;
            count_ = 0;
            count_digits_ = 0;
            count_text_.clear();
          } else if (c == '\n' || c == '\0') {
            data.remove_prefix(1);  // stray separators between frames
          } else {
            state_ = State::Line;
          }
          break;
        }
        case State::Count: {
          char c = data.front();
          if (c >= '0' && c <= '9' && count_digits_ < 9) {
            count_ = count_ * 10 + size_t(c - '0');
            ++count_digits_;
            count_text_.push_back(c);
            data.remove_prefix(1);
          } else if (c == ' ') {
            data.remove_prefix(1);
            state_ = State::Body;
            remaining_ = count_;
            body_.clear();
            truncated_ = false;
          } else {
            // Not a count: the digits start a newline-framed message.
            state_ = State::Line;
            std::string digits;
            digits.swap(count_text_);
            feed_line(digits, on_frame);
          }
          break;
        }
        case State::Body: {
          size_t take = std::min(remaining_, data.size());
          std::string_view part = data.substr(0, take);
          if (body_.empty() && take == remaining_ && take <= max_) {
            on_frame(part, false);  // whole frame in this chunk: no copy
          } else {
            size_t room = max_ > body_.size() ? max_ - body_.size() : 0;
            if (part.size() > room) truncated_ = true;
            body_.append(part.substr(0, std::min(room, part.size())));
            if (take == remaining_) on_frame(std::string_view(body_), truncated_);
          }
          remaining_ -= take;
          data.remove_prefix(take);
          if (remaining_ == 0) {
            if (body_.capacity() > 64 * 1024) std::string().swap(body_);
            body_.clear();
            state_ = State::FrameStart;
          }
          break;
        }
        case State::Line: {
          const char* nl = static_cast<const char*>(std::memchr(data.data(), '\n', data.size()));
          size_t take = nl ? size_t(nl - data.data()) + 1 : data.size();
          feed_line(data.substr(0, take), on_frame);
          data.remove_prefix(take);
          if (nl) state_ = State::FrameStart;
          break;
        }
      }
    }
  }

  // At connection close: a newline-framed message without its newline is still a message;
  // an incomplete octet-counted frame is handed out as truncated.
  template <typename OnFrame>
  void finish(OnFrame&& on_frame) {
    if (state_ == State::Line) {
      lines_.finish([&](std::string_view f, bool t) { emit_line(f, t, on_frame); });
    } else if (state_ == State::Body && !body_.empty()) {
      on_frame(std::string_view(body_), true);
    } else if (state_ == State::Count && !count_text_.empty()) {
      // Up to 9 digits without their space: a short newline-less message, still under the cap.
      std::string_view digits(count_text_);
      if (digits.size() > max_) on_frame(digits.substr(0, max_), true);
      else on_frame(digits, false);
    }
    state_ = State::FrameStart;
    body_.clear();
    count_text_.clear();
  }

  bool in_octet_frame() const { return state_ == State::Body; }

 private:
  enum class State { FrameStart, Count, Body, Line };

  template <typename OnFrame>
  void feed_line(std::string_view part, OnFrame& on_frame) {
    lines_.feed(part, [&](std::string_view f, bool t) { emit_line(f, t, on_frame); });
  }

  template <typename OnFrame>
  static void emit_line(std::string_view f, bool truncated, OnFrame& on_frame) {
    while (!f.empty() && (f.back() == '\r' || f.back() == '\0')) f.remove_suffix(1);
    if (!f.empty()) on_frame(f, truncated);
  }

  size_t max_;
  LineFramer lines_;
  State state_ = State::FrameStart;
  size_t count_ = 0;
  int count_digits_ = 0;
  std::string count_text_;
  size_t remaining_ = 0;
  std::string body_;
  bool truncated_ = false;
};

}  // namespace sluice::net
