// A minimal blocking Lumberjack v2 client written from the protocol description (window, JSON
// and compressed frames out; ACK frames in), the second client of the beats input tests and the
// beats sender of the front-door load test.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::test {

class LumberjackWriter {
 public:
  explicit LumberjackWriter(int port);  // connects to 127.0.0.1:port
  ~LumberjackWriter();
  LumberjackWriter(const LumberjackWriter&) = delete;
  LumberjackWriter& operator=(const LumberjackWriter&) = delete;
  bool connected() const { return fd_ >= 0; }

  bool send(std::string_view bytes);
  // One window of JSON events (sequences 1..n), optionally as one compressed frame.
  bool send_window(const std::vector<std::string>& events, bool compressed);
  // The next ACK's sequence; -1 on timeout or close, -2 for a frame that is not an ACK.
  int64_t read_ack(int timeout_ms);
  // Sends a window and waits for the ACK of its last event (skipping keep-alives); false on error.
  bool send_window_acked(const std::vector<std::string>& events, bool compressed, int timeout_ms);
  // True once the server closed the connection (within the timeout).
  bool closed_by_server(int timeout_ms);

 private:
  int fd_ = -1;
};

}  // namespace sluice::test
