#include "mcp/call_control.hpp"

#include "query/query.hpp"

namespace pgshift::mcp {
namespace {

void send_cancel(PGcancel* handle) {
  char err[256];
  PQcancel(handle, err, sizeof err);
}

}  // namespace

void CallControl::cancel() {
  cancelled_ = true;
  std::lock_guard lock(mutex_);
  if (handle_) send_cancel(handle_.get());
}

std::unique_ptr<CallControl::Running> CallControl::running(pg::Connection& conn) {
  std::lock_guard lock(mutex_);
  if (cancelled_) throw query::Cancelled("the request was cancelled before its statement started");
  handle_.reset(PQgetCancel(conn.raw()));
  return std::make_unique<Running>(*this);
}

CallControl::Running::~Running() {
  std::lock_guard lock(control_.mutex_);
  control_.handle_.reset();
}

}  // namespace pgshift::mcp
