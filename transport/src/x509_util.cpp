#include "x509_util.hpp"

#include <botan/asn1_alt_name.h>
#include <botan/data_src.h>
#include <botan/ecdsa.h>
#include <botan/hex.h>

namespace hiegate::transport::detail {

Result<std::vector<Botan::X509_Certificate>> parse_certs(std::string_view pem, std::string_view what) {
  std::vector<Botan::X509_Certificate> out;
  try {
    Botan::DataSource_Memory src(reinterpret_cast<const uint8_t*>(pem.data()), pem.size());
    while (!src.end_of_data()) {
      // Skip whitespace between PEM blocks; stop at trailing blanks.
      uint8_t b = 0;
      while (src.peek(&b, 1, 0) == 1 && (b == '\n' || b == '\r' || b == ' ' || b == '\t'))
        src.discard_next(1);
      if (src.end_of_data()) break;
      out.emplace_back(src);
    }
  } catch (const std::exception& e) {
    return make_error("bad_certificate", std::string(what) + ": " + e.what());
  }
  if (out.empty()) return make_error("bad_certificate", std::string(what) + ": no certificate");
  return out;
}

Result<std::shared_ptr<Botan::Private_Key>> parse_key(std::string_view pem, std::string_view what) {
  try {
    Botan::DataSource_Memory src(reinterpret_cast<const uint8_t*>(pem.data()), pem.size());
    std::shared_ptr<Botan::Private_Key> key = Botan::PKCS8::load_key(src);
    if (!key) return make_error("bad_key", std::string(what) + ": unreadable key");
    return key;
  } catch (const std::exception&) {
    // The exception text may quote key material; keep it out of messages.
    return make_error("bad_key", std::string(what) + ": not a readable unencrypted PKCS#8 key");
  }
}

Result<Botan::X509_CRL> parse_crl(std::string_view pem, std::string_view what) {
  try {
    Botan::DataSource_Memory src(reinterpret_cast<const uint8_t*>(pem.data()), pem.size());
    return Botan::X509_CRL(src);
  } catch (const std::exception& e) {
    return make_error("bad_crl", std::string(what) + ": " + e.what());
  }
}

Result<Botan::PKCS10_Request> parse_csr(std::string_view pem) {
  try {
    Botan::DataSource_Memory src(reinterpret_cast<const uint8_t*>(pem.data()), pem.size());
    return Botan::PKCS10_Request(src);
  } catch (const std::exception& e) {
    return make_error("bad_csr", std::string("CSR: ") + e.what());
  }
}

Result<PeerIdentity> identity_from_san(const Botan::AlternativeName& san, std::string_view network) {
  const auto uris = san.get_attribute("URI");
  if (uris.empty()) return make_error("no_identity", "certificate has no URI SAN");
  if (uris.size() != 1) return make_error("ambiguous_identity", "certificate has more than one URI SAN");
  auto id = parse_identity_uri(uris.front());
  if (!id) return make_error("bad_identity", "URI SAN is not a hiegate identity");
  if (id->network != network)
    return make_error("foreign_network", "identity belongs to network '" + id->network + "'");
  return *id;
}

bool acceptable_key(const Botan::Public_Key& key) {
  const auto* ec = dynamic_cast<const Botan::ECDSA_PublicKey*>(&key);
  if (ec == nullptr) return false;
  const std::string curve = ec->domain().get_curve_oid().to_formatted_string();
  return curve == "secp256r1" || curve == "secp384r1";
}

std::string serial_of(const Botan::X509_Certificate& cert) {
  return Botan::hex_encode(cert.serial_number(), false);
}

}  // namespace hiegate::transport::detail
