// Fuzz target for the directive readers: the DSSE envelope decoder, the push
// body splitter, the strict JSON reader and the three body schemas. The input
// is tried both as an envelope (and then its payload as each body) and
// directly as a body, so the body readers are reached without valid base64
// around them.
// Contract checked: no crash, no sanitizer report, and every refusal carries
// one of the spec's reason codes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hiegate/common/result.hpp"
#include "hiegate/policy/directive_bodies.hpp"
#include "hiegate/policy/directives.hpp"
#include "hiegate/policy/dsse.hpp"
#include "hiegate/policy/strict_json.hpp"

namespace {

using namespace hiegate::policy;

template <class T>
void check_reason(const hiegate::Result<T>& r) {
  if (!r.ok() && !reject_reason_from_code(r.error().code)) std::abort();
}

void bodies(std::string_view text) {
  check_reason(parse_keyset_body(text));
  check_reason(parse_orders_body(text));
  check_reason(parse_heartbeat_body(text));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)parse_strict_json(text);
  bodies(text);
  auto env = decode_envelope(text);
  check_reason(env);
  if (env.ok()) {
    bodies(env->payload);
    // Re-encoding a decoded envelope must decode to the same payload.
    auto again = decode_envelope(encode_envelope(*env), EnvelopeLimits{1U << 20, 1024});
    if (!again.ok() || again->payload != env->payload ||
        again->signatures.size() != env->signatures.size()) {
      std::abort();
    }
  }
  check_reason(trust_anchor_fingerprint(text));
  auto parts = split_delivery(text);
  check_reason(parts);
  if (parts.ok()) {
    for (const auto& part : *parts) check_reason(decode_envelope(part));
  }
  return 0;
}
