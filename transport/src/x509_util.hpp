// Botan X.509 helpers private to transport: PEM parsing into Results and the
// identity rule (exactly one URI SAN, an identity of our network).
#pragma once

#include <botan/pkcs10.h>
#include <botan/pkcs8.h>
#include <botan/x509_crl.h>
#include <botan/x509cert.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/transport/identity.hpp"

namespace hiegate::transport::detail {

[[nodiscard]] Result<std::vector<Botan::X509_Certificate>> parse_certs(std::string_view pem,
                                                                       std::string_view what);
[[nodiscard]] Result<std::shared_ptr<Botan::Private_Key>> parse_key(std::string_view pem,
                                                                    std::string_view what);
[[nodiscard]] Result<Botan::X509_CRL> parse_crl(std::string_view pem, std::string_view what);
[[nodiscard]] Result<Botan::PKCS10_Request> parse_csr(std::string_view pem);

/// The identity of a certificate or CSR SAN: exactly one URI, parsing as an
/// identity of `network`. CN is never looked at.
[[nodiscard]] Result<PeerIdentity> identity_from_san(const Botan::AlternativeName& san,
                                                     std::string_view network);

/// True for ECDSA keys on secp256r1 or secp384r1.
[[nodiscard]] bool acceptable_key(const Botan::Public_Key& key);

/// Lower-case hex of the certificate's serial.
[[nodiscard]] std::string serial_of(const Botan::X509_Certificate& cert);

}  // namespace hiegate::transport::detail
