// The network's PKI made with Botan, no openssl CLI needed: facility CSRs,
// the regional CA (init, issue, revoke, CRL) and a throw-away dev network.
//
// CA directory layout (all PEM): ca.key (0400), ca.crt, crl.pem, network
// (the network id, one line), issued/<serial-hex>.pem. The CA is the only
// writer of that directory; none of these functions is safe to run
// concurrently on the same directory.
//
// Every function takes `now` (no hidden clock), refuses bad input with a
// stable error code and leaves existing files untouched on failure.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/transport/identity.hpp"

namespace hiegate::transport::pki {

using TimePoint = std::chrono::system_clock::time_point;

struct KeyAndCsr {
  std::string key_pem;  ///< PKCS#8 P-256 private key (secret: never log)
  std::string csr_pem;  ///< PKCS#10 request carrying the identity URI SAN
};

/// A fresh P-256 key and a CSR for `id` (SAN = id.uri()).
[[nodiscard]] Result<KeyAndCsr> make_csr(const PeerIdentity& id);

/// Writes `dir`/key.pem (0400) and `dir`/csr.pem (0644). Refuses to overwrite
/// an existing key.
[[nodiscard]] Status write_csr(const PeerIdentity& id, const std::filesystem::path& dir);

/// Creates a CA in `dir` (which must not already hold one): P-256 key,
/// self-signed certificate valid `days`, an empty CRL valid `crl_days`.
[[nodiscard]] Status ca_init(const std::filesystem::path& dir, std::string_view network, int days,
                             TimePoint now, int crl_days = 30);

struct Validity {
  TimePoint not_before;
  TimePoint not_after;
};

/// Issues a certificate for `csr_pem`. The CSR must be self-consistent
/// (signature), carry an ECDSA P-256/P-384 key and exactly one URI SAN that is
/// an identity of the CA's network. Extensions are set by the CA, never copied
/// from the request. Returns the certificate PEM (also kept in issued/).
[[nodiscard]] Result<std::string> ca_issue(const std::filesystem::path& dir, std::string_view csr_pem,
                                           Validity validity);

/// Adds an issued certificate (serial in hex, as printed by `serial_hex`) to
/// the CRL and re-signs it.
[[nodiscard]] Status ca_revoke(const std::filesystem::path& dir, std::string_view serial_hex,
                               TimePoint now, int crl_days = 30);

/// Re-signs the CRL with a fresh thisUpdate/nextUpdate, keeping its entries.
[[nodiscard]] Status ca_crl(const std::filesystem::path& dir, TimePoint now, int crl_days = 30);

/// Lower-case hex serial number of a certificate PEM.
[[nodiscard]] Result<std::string> serial_hex(std::string_view cert_pem);

/// A complete throw-away network in `out`: ca/ (a CA dir), ca.crt, crl.pem,
/// secretariat/{key,cert}.pem and facilities/<code>/{key,cert}.pem for
/// `facilities` ten-digit codes (1300000001, 1300000002, ...).
struct DevNetwork {
  std::filesystem::path ca_dir;
  std::filesystem::path secretariat_dir;
  std::vector<std::string> facility_codes;
};
[[nodiscard]] Result<DevNetwork> dev_network(const std::filesystem::path& out, std::string_view network,
                                             int facilities, TimePoint now, int days = 365);

}  // namespace hiegate::transport::pki
