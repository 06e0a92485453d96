// Peer chains that passed full path validation against one credentials
// snapshot; private to transport.
//
// Contract: an entry records that a chain (by the SHA-256 of its DER) was
// valid for `usage` against the snapshot's CA and named `identity`, with the
// validity window common to the chain and the CA. It lets a later handshake
// with the same chain (typically a resumption) skip the signature checks;
// dates, revocation and CRL freshness are still checked each time by the
// caller. Entries never outlive their snapshot (a CRL or CA change makes a
// new snapshot with an empty cache). Bounded: the oldest entry is evicted
// beyond `capacity`. Thread-safe.
#pragma once

#include <botan/x509cert.h>

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "hiegate/transport/credentials.hpp"

namespace hiegate::transport::detail {

class VerifiedChains {
public:
  struct Entry {
    PeerIdentity identity;
    SystemTime valid_from;   ///< latest notBefore of the chain and the CA
    SystemTime valid_until;  ///< earliest notAfter of the chain and the CA
  };

  explicit VerifiedChains(std::size_t capacity = 1024) : capacity_(capacity) {}

  /// The cache key of `chain` used as `usage` (SHA-256 over the DER of each
  /// certificate, length-prefixed, and the usage).
  [[nodiscard]] static std::string key(const std::vector<Botan::X509_Certificate>& chain, int usage);

  [[nodiscard]] std::optional<Entry> find(const std::string& key) const;
  void insert(const std::string& key, Entry entry);
  [[nodiscard]] std::size_t size() const;

private:
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  ///< insertion order, for eviction
};

}  // namespace hiegate::transport::detail
