// run_on_deep_stack(): a joined pthread with an explicit stack size.
#include "sqlgate/deep_stack.hpp"

#include <pthread.h>

namespace pgshift::sqlgate {
namespace {

void* trampoline(void* arg) {
  (*static_cast<const std::function<void()>*>(arg))();
  return nullptr;
}

}  // namespace

bool run_on_deep_stack(const std::function<void()>& fn, size_t stack_bytes) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return false;
  bool ok = pthread_attr_setstacksize(&attr, stack_bytes) == 0;
  pthread_t thread;
  ok = ok && pthread_create(&thread, &attr, trampoline, const_cast<std::function<void()>*>(&fn)) == 0;
  pthread_attr_destroy(&attr);
  if (!ok) return false;
  pthread_join(thread, nullptr);
  return true;
}

}  // namespace pgshift::sqlgate
