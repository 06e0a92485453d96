#include "hiegate/policy/functions.hpp"

namespace hiegate::policy {

std::string_view name(Function f) noexcept {
  switch (f) {
    case Function::view: return "view";
    case Function::emergency: return "emergency";
    case Function::serve: return "serve";
    case Function::publish: return "publish";
    case Function::export_: return "export";
    case Function::print: return "print";
  }
  return "unknown";
}

std::optional<Function> parse_function(std::string_view s) noexcept {
  for (Function f : kAllFunctions) {
    if (name(f) == s) return f;
  }
  return std::nullopt;
}

}  // namespace hiegate::policy
