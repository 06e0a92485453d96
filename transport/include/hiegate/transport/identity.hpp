// Peer identities of the network's PKI profile (shared/DESIGN.md, "Identities").
// An identity is taken only from the certificate's URI SAN, after path
// validation; never from CN, never from a header.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hiegate::transport {

struct PeerIdentity {
  enum class Kind { facility, secretariat };
  Kind kind = Kind::facility;
  std::string network;   ///< e.g. "nishitama"
  std::string facility;  ///< 10-digit medical institution code; empty for the secretariat

  [[nodiscard]] std::string uri() const;
  friend bool operator==(const PeerIdentity&, const PeerIdentity&) = default;
};

/// True for a 10-digit medical institution code.
[[nodiscard]] bool is_facility_code(std::string_view code) noexcept;
/// True for a network id: [a-z0-9-]{1,32}.
[[nodiscard]] bool is_network_id(std::string_view id) noexcept;

/// Parses `hie://<network>/facility/<code>` or `hie://<network>/secretariat`.
/// Anything else (other schemes, trailing slashes, query, bad code) is nullopt.
[[nodiscard]] std::optional<PeerIdentity> parse_identity_uri(std::string_view uri);

}  // namespace hiegate::transport
