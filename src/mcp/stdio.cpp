#include "mcp/stdio.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

// Runs tools/call jobs on at most kStdioWorkers threads, kept between calls (a thread started
// per call cost more than a simple statement's own work); start() waits while all are busy.
// wait_all() lets the started jobs finish, then joins the threads.
class Workers {
 public:
  ~Workers() { wait_all(); }
  void start(std::function<void()> job) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return busy_ + static_cast<int>(jobs_.size()) < kStdioWorkers; });
    jobs_.push_back(std::move(job));
    if (idle_ < static_cast<int>(jobs_.size()) && static_cast<int>(threads_.size()) < kStdioWorkers) {
      threads_.emplace_back([this] { work(); });
    }
    changed_.notify_all();
  }
  void wait_all() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ++idle_;
      changed_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
      --idle_;
      if (jobs_.empty()) return;  // stopping, nothing left to run
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      ++busy_;
      lock.unlock();
      job();
      lock.lock();
      --busy_;
      changed_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  int idle_ = 0;  // threads waiting for a job
  int busy_ = 0;  // jobs running
  bool stopping_ = false;
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
