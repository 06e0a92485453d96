// Botan side of a credentials snapshot; private to transport.
#pragma once

#include <botan/certstor.h>
#include <botan/x509_crl.h>
#include <botan/x509cert.h>

#include <memory>
#include <vector>

#include "hiegate/transport/credentials.hpp"

namespace hiegate::transport {
namespace detail {
class VerifiedChains;
}

struct Credentials::Impl {
  CredentialOptions opts;
  PeerIdentity identity;
  std::vector<Botan::X509_Certificate> chain;  ///< own cert first
  std::shared_ptr<Botan::Private_Key> key;
  Botan::X509_Certificate ca;
  Botan::X509_CRL crl;
  std::unique_ptr<Botan::Certificate_Store_In_Memory> roots;  ///< the CA only (no CRL: checked by us)
  SystemTime not_after;
  SystemTime crl_next_update;
  /// Peer chains verified against this snapshot (see verified_chains.hpp).
  std::shared_ptr<detail::VerifiedChains> verified;
};

namespace detail {

/// Path validation against the CA at `now`, our CRL policy (revoked → refuse,
/// past nextUpdate + grace → refuse), key type, chain limits and the identity
/// rule. `usage` is the role the peer's certificate plays. Fail closed.
/// A chain this snapshot already validated in full (same DER, same usage)
/// skips the signature checks: only the dates, the CRL and its freshness are
/// checked again, and the identity found then is returned.
[[nodiscard]] Result<PeerIdentity> verify_peer(const Credentials::Impl& creds,
                                               const std::vector<Botan::X509_Certificate>& chain,
                                               Botan::Usage_Type usage, SystemTime now);

}  // namespace detail
}  // namespace hiegate::transport
