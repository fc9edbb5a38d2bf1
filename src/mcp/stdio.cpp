#include "mcp/stdio.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "audit/audit.hpp"

namespace pgshift::mcp {
namespace {

class Writer {
 public:
  explicit Writer(std::FILE* out) : out_(out) {}
  void write(const nlohmann::json& message) {
    std::string line = jsonrpc::dump(message);
    line += '\n';
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
  std::mutex mutex_;
};

// Counts running workers, bounds them, and waits for all at the end.
class Workers {
 public:
  void start(std::function<void()> job) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return running_ < kStdioWorkers; });
    ++running_;
    std::thread([this, job = std::move(job)] {
      job();
      std::lock_guard done(mutex_);
      --running_;
      changed_.notify_all();
    }).detach();
  }
  void wait_all() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return running_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int running_ = 0;
};

}  // namespace

void serve_stdio(Server& server, const Caller& caller, std::istream& in, std::FILE* out) {
  Session session;
  session.id = audit::new_session_id();
  Writer writer(out);
  Workers workers;
  spdlog::info("mcp: serving on stdio as {} (session {})", caller.identity, session.id);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (line.size() > kMaxMessageBytes) {
      writer.write(jsonrpc::error(nullptr, jsonrpc::kInvalidRequest, "Invalid Request: message too large"));
      continue;
    }
    jsonrpc::Message message = jsonrpc::parse(line);
    if (message.kind == jsonrpc::Message::Kind::request && message.method == "tools/call") {
      // The session changes only at initialize, on this thread; a worker gets a copy.
      workers.start([&server, snapshot = session, &caller, &writer, message = std::move(message)]() mutable {
        Reply reply = server.handle(snapshot, caller, message);
        if (reply.message) writer.write(*reply.message);
      });
      continue;
    }
    Reply reply = server.handle(session, caller, message);
    if (reply.message) writer.write(*reply.message);
  }
  spdlog::info("mcp: stdin closed; cancelling running calls");
  server.cancel_session(session.id);
  workers.wait_all();
}

}  // namespace pgshift::mcp
