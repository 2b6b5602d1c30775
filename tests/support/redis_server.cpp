#include "support/redis_server.h"

#include <hiredis/hiredis.h>
#include <signal.h>

#include <stdexcept>

namespace sluice::test {

RedisServer::RedisServer(std::string password) : password_(std::move(password)) {
  // hiredis writes without MSG_NOSIGNAL; sluice's main ignores SIGPIPE, so must a test process.
  signal(SIGPIPE, SIG_IGN);
  port_ = free_port();
  start();
}

RedisServer::~RedisServer() { stop(); }

void RedisServer::start() {
  std::vector<std::string> argv = {"redis-server", "--bind", "127.0.0.1", "--port", std::to_string(port_), "--save", "",
                                   "--appendonly", "no", "--dir", dir_.path().string()};
  if (!password_.empty()) argv.insert(argv.end(), {"--requirepass", password_});
  child_ = std::make_unique<Child>(argv, dir_.file("redis.out"), dir_.file("redis.err"));
  const bool up = wait_until(
      [&] {
        if (!port_open(port_)) return false;
        try {
          command({"PING"});
          return true;
        } catch (const std::exception&) {
          return false;
        }
      },
      std::chrono::seconds(20));
  if (!up) {
    child_.reset();
    throw std::runtime_error("redis-server did not start: " + read_file(dir_.file("redis.out")) +
                             read_file(dir_.file("redis.err")));
  }
}

void RedisServer::stop() {
  if (!child_) return;
  child_->signal(SIGKILL);
  child_->wait(std::chrono::seconds(10));
  child_.reset();
}

namespace {

std::string reply_text(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS: return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER: return std::to_string(r->integer);
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (size_t i = 0; i < r->elements; ++i) {
        if (i) out += "\n";
        out += reply_text(r->element[i]);
      }
      return out;
    }
    default: return "";
  }
}

}  // namespace

std::string RedisServer::command(const std::vector<std::string>& argv) const {
  timeval tv{5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (!c || c->err) {
    std::string e = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    throw std::runtime_error("redis connect: " + e);
  }
  auto run = [&](const std::vector<std::string>& args) {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (auto& a : args) ptrs.push_back(a.data()), lens.push_back(a.size());
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, int(ptrs.size()), ptrs.data(), lens.data()));
    if (!r) throw std::runtime_error(std::string("redis: ") + c->errstr);
    if (r->type == REDIS_REPLY_ERROR) {
      std::string e(r->str, r->len);
      freeReplyObject(r);
      throw std::runtime_error("redis: " + e);
    }
    std::string text = reply_text(r);
    freeReplyObject(r);
    return text;
  };
  try {
    if (!password_.empty()) run({"AUTH", password_});
    std::string out = run(argv);
    redisFree(c);
    return out;
  } catch (...) {
    redisFree(c);
    throw;
  }
}

long long RedisServer::command_calls(const std::string& name) const {
  const std::string info = command({"INFO", "commandstats"});
  const std::string marker = "cmdstat_" + name + ":calls=";
  auto pos = info.find(marker);
  if (pos == std::string::npos) return 0;
  return std::stoll(info.substr(pos + marker.size()));
}

}  // namespace sluice::test
