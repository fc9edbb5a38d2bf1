// A small evaluator for the Common Expression Language subset the CloudNativePG and barman-cloud
// CRDs use in x-kubernetes-validations: literals (int, double, string, bool, null, lists), self
// and field selection, has(), ! - && || == != < <= > >= + in, and the methods size(),
// startsWith(), endsWith(), contains(), matches(), exists(x, e), all(x, e), exists_one(x, e).
// Errors follow CEL: selecting a missing field is an error, && and || absorb an error when the
// other side decides the result. Anything outside the subset is Unsupported (lint says so
// instead of guessing). Rules that read oldSelf are transition rules: they do not apply to a
// new object, and lint skips them.
#pragma once

#include <stdexcept>
#include <string>

#include "cnpg/cnpg.hpp"

namespace pgshift::cnpg::cel {

struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// An evaluation error (no such key, wrong type): the API server refuses the object with it.
struct EvalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The value of `expression` with `self` bound. Throws Unsupported or EvalError.
Json evaluate(const std::string& expression, const Json& self);

// Whether the expression reads oldSelf (a transition rule).
bool is_transition_rule(const std::string& expression);

}  // namespace pgshift::cnpg::cel
