// TLS credentials as immutable snapshots (own cert + key, regional CA, CRL).
//
// A Credentials object is built once from files, validated, and never
// changes; connections hold a shared_ptr<const Credentials> for their whole
// life. CredentialStore::reload() builds a new snapshot and swaps it in
// atomically; on any error the old snapshot stays and the error is returned.
// Fail closed: a missing or unreadable CRL refuses to load.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/transport/identity.hpp"

namespace hiegate::transport {

using SystemTime = std::chrono::system_clock::time_point;

struct CredentialPaths {
  std::filesystem::path cert;  ///< own certificate (optionally followed by intermediates)
  std::filesystem::path key;   ///< own PKCS#8 private key
  std::filesystem::path ca;    ///< the regional CA certificate
  std::filesystem::path crl;   ///< the regional CA's CRL (required)
  /// Optional: the same key as systemd hands it over (LoadCredential=
  /// tls-key), read when `key` itself cannot be (it may stay root-only). A
  /// file holding just "absent" (the unit's SetCredential= stand-in) is none.
  std::filesystem::path key_credential{};
  /// Optional: a CRL taken from the secretariat ([tls] crl_url; hiegated
  /// keeps it in its state directory). Used instead of `crl` when it is a CRL
  /// of the same CA, signed by it, and issued later (thisUpdate); ignored
  /// otherwise, so a damaged or stale copy never weakens the configured one.
  std::filesystem::path crl_update{};
};

struct CredentialOptions {
  std::string network;  ///< our network id; peers of other networks are refused
  /// Who our own certificate must name (a facility of `network`, or its
  /// secretariat). Checked on every load, start-up and reload alike: a
  /// renewed certificate for anyone else is refused (certificate_mismatch)
  /// and the previous snapshot stays. Empty: any identity of `network`.
  std::optional<PeerIdentity> expected_identity{};
  /// How long after the CRL's nextUpdate handshakes are still accepted (the
  /// CRL is flagged stale meanwhile). Zero: refuse as soon as it is stale.
  std::chrono::seconds crl_grace{0};
  /// Warn when our own certificate expires within this period.
  std::chrono::hours expiry_warning{24 * 30};
  std::size_t max_chain_certs = 4;          ///< peer chain length limit
  std::size_t max_chain_bytes = 16 * 1024;  ///< peer Certificate message size limit
};

class Credentials {
public:
  struct Impl;  // Botan objects; see src/credentials_impl.hpp

  /// Loads and validates: the key matches the certificate, the certificate
  /// chains to the CA and is valid at `now`, carries an identity of
  /// `opts.network` (exactly `opts.expected_identity` if set), the CRL is
  /// signed by the CA and our cert is not on it.
  [[nodiscard]] static Result<std::shared_ptr<const Credentials>> load(const CredentialPaths& paths,
                                                                       const CredentialOptions& opts,
                                                                       SystemTime now);
  ~Credentials();
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;

  [[nodiscard]] const PeerIdentity& identity() const;
  [[nodiscard]] const CredentialOptions& options() const;
  [[nodiscard]] SystemTime not_after() const;
  [[nodiscard]] SystemTime crl_next_update() const;
  [[nodiscard]] std::string serial() const;  ///< own certificate serial, lower-case hex
  /// Peer chains remembered as fully verified against this snapshot (they
  /// skip signature checks on later handshakes; bounded).
  [[nodiscard]] std::size_t verified_chains() const;
  /// True once the CRL is past its nextUpdate (alert-worthy, see crl_usable).
  [[nodiscard]] bool crl_stale(SystemTime now) const;
  /// False once past nextUpdate + grace: handshakes are then refused.
  [[nodiscard]] bool crl_usable(SystemTime now) const;
  /// Human-readable warnings at `now` (expiring certificate, stale CRL).
  [[nodiscard]] std::vector<std::string> warnings(SystemTime now) const;

  [[nodiscard]] const Impl& impl() const { return *impl_; }

private:
  explicit Credentials(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Whether `pem` may replace the CRL in force in `current`: a CRL of the same
/// CA, signed by it, issued after the one in force. Errors: `bad_crl`,
/// `crl_not_newer` (the same or an older one: nothing to do).
[[nodiscard]] Status check_crl_update(const Credentials& current, std::string_view pem);
/// check_crl_update, then `pem` written to `keep` (temporary file, fsync,
/// rename; mode 0644), to be loaded as CredentialPaths::crl_update. Errors as
/// check_crl_update, and `io_error` (nothing replaced).
[[nodiscard]] Status keep_crl_update(const Credentials& current, std::string_view pem,
                                     const std::filesystem::path& keep);

/// Holds the current snapshot. Thread-safe.
class CredentialStore {
public:
  /// Loads the first snapshot; fails like Credentials::load.
  [[nodiscard]] static Result<std::shared_ptr<CredentialStore>> open(CredentialPaths paths,
                                                                     CredentialOptions opts,
                                                                     SystemTime now);
  CredentialStore(CredentialPaths paths, CredentialOptions opts, std::shared_ptr<const Credentials> first);

  [[nodiscard]] std::shared_ptr<const Credentials> current() const;
  [[nodiscard]] const CredentialPaths& paths() const { return paths_; }
  /// Rebuilds from the same paths; swaps only on success.
  [[nodiscard]] Status reload(SystemTime now);

private:
  CredentialPaths paths_;
  CredentialOptions opts_;
  mutable std::mutex mu_;
  std::shared_ptr<const Credentials> current_;
};

}  // namespace hiegate::transport
