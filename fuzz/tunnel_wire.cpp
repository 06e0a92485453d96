// Fuzz target: the tunnel wire parsers (service line, answer line, frame
// header) and local endpoint addresses.
// Contract checked: no crash, no sanitizer report; an accepted service line
// round-trips through hello(); an accepted header is within the limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../transport/src/tunnel_wire.hpp"
#include "hiegate/transport/tunnel.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace wire = hiegate::transport::tunnel_wire;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto svc = wire::parse_hello(text)) {
    if (wire::hello(*svc) != std::string(text) + "\n") std::abort();
  }
  if (const auto code = wire::parse_reply(text)) {
    if (wire::parse_reply(std::string_view(wire::reply(*code)).substr(0, wire::reply(*code).size() - 1)) != code)
      std::abort();
  }
  if (size >= wire::kHeader) {
    if (const auto f = wire::parse_header(data)) {
      if (f->len > wire::kMaxFrame || (f->type == wire::kFin && f->len != 0)) std::abort();
      if (wire::frame_header(f->type, f->len) != std::array<std::uint8_t, 4>{data[0], data[1], data[2], data[3]})
        std::abort();
    }
  }
  if (const auto ep = hiegate::transport::parse_local_endpoint(text)) (void)ep->to_string();
  return 0;
}
