// The network's TLS policy (shared/DESIGN.md "Identities"; docs/tls.md).
// Botan 2.19: TLS 1.2 only. Moving to TLS 1.3 (Botan 3) changes this file and
// tls_core.cpp only.
#pragma once

#include <botan/tls_policy.h>

#include "hiegate/transport/tls.hpp"

#include <cstddef>

namespace hiegate::transport::detail {

class StrictPolicy final : public Botan::TLS::Policy {
public:
  explicit StrictPolicy(std::size_t max_chain_bytes) : max_chain_bytes_(max_chain_bytes) {}

  std::vector<std::string> allowed_ciphers() const override { return tls_cipher_preference(); }
  std::vector<std::string> allowed_signature_hashes() const override { return {"SHA-384", "SHA-256"}; }
  std::vector<std::string> allowed_macs() const override { return {"AEAD"}; }
  std::vector<std::string> allowed_key_exchange_methods() const override { return {"ECDH"}; }  // ECDHE
  std::vector<std::string> allowed_signature_methods() const override { return {"ECDSA"}; }
  std::vector<Botan::TLS::Group_Params> key_exchange_groups() const override {
    return {Botan::TLS::Group_Params::X25519, Botan::TLS::Group_Params::SECP256R1};
  }
  size_t minimum_ecdsa_group_size() const override { return 256; }
  size_t minimum_ecdh_group_size() const override { return 255; }
  size_t minimum_signature_strength() const override { return 128; }

  bool allow_tls10() const override { return false; }
  bool allow_tls11() const override { return false; }
  bool allow_tls12() const override { return true; }
  bool allow_dtls10() const override { return false; }
  bool allow_dtls12() const override { return false; }

  bool allow_insecure_renegotiation() const override { return false; }
  bool allow_client_initiated_renegotiation() const override { return false; }
  bool allow_server_initiated_renegotiation() const override { return false; }
  bool abort_connection_on_undesired_renegotiation() const override { return true; }
  bool allow_resumption_for_renegotiation() const override { return false; }

  uint32_t session_ticket_lifetime() const override { return 0; }  // tickets off; cache only
  bool require_client_certificate_authentication() const override { return true; }
  bool request_client_certificate_authentication() const override { return true; }
  bool support_cert_status_message() const override { return false; }
  bool hide_unknown_users() const override { return true; }
  bool server_uses_own_ciphersuite_preferences() const override { return true; }
  bool include_time_in_hello_random() const override { return false; }
  bool use_ecc_point_compression() const override { return false; }
  bool only_resume_with_exact_version() const override { return true; }
  size_t maximum_certificate_chain_size() const override { return max_chain_bytes_; }

private:
  std::size_t max_chain_bytes_;
};

}  // namespace hiegate::transport::detail
