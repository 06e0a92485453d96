// Delivery of directive envelopes to gateways: PUT /peer/v1/directives over
// mutual TLS with the secretariat's certificate (shared/spec/directives.md §5).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/transport/peer_client.hpp"
#include "hiegate/transport/tls.hpp"

namespace hiegate::tools::secretariat {

/// The peers file:
///   network = "nishitama"
///   [[peer]]
///   facility = "1300000001"
///   host = "gw1.example.jp"
///   port = 8471            # optional
/// Errors: `bad_peers_file` naming the problem (unknown keys included).
struct PeersFile {
  std::string network;
  std::vector<transport::PeerAddress> peers;
};
[[nodiscard]] Result<PeersFile> parse_peers(std::string_view toml_text, const std::string& name);

/// `to` is {"all"} or facility codes, each of which must be in `peers`
/// (`unknown_peer` otherwise).
[[nodiscard]] Result<std::vector<transport::PeerAddress>> select_peers(
    const PeersFile& peers, const std::vector<std::string>& to);

/// The request body for `envelopes` (each checked with decode_envelope):
/// the one envelope as is, or a JSON array of them in order. Errors:
/// `malformed` naming the index.
[[nodiscard]] Result<std::string> delivery_body(const std::vector<std::string>& envelopes);

struct PushOutcome {
  std::string facility;
  std::optional<Error> failure;  ///< no answer: connect, TLS, identity, timeout
  unsigned status = 0;           ///< HTTP status when answered
  std::string body;              ///< the answer as received

  [[nodiscard]] bool accepted() const noexcept { return !failure && status == 200; }
};

/// Sends `body` to every peer in parallel and waits for all of them, each
/// bounded by `timeout`. Never retried (the PUT is not idempotent in effect
/// on the audit trail). Outcomes come back in the order of `peers`.
[[nodiscard]] std::vector<PushOutcome> push_all(std::shared_ptr<transport::TlsContext> tls,
                                                const std::vector<transport::PeerAddress>& peers,
                                                const std::string& body,
                                                std::chrono::milliseconds timeout);

/// The status read (GET /peer/v1/directives) of every peer in parallel,
/// each bounded by `timeout`: what each gateway holds and the mode in force,
/// e.g. to collect acknowledgements after a push some gateways missed.
/// `accepted()` means it answered 200.
[[nodiscard]] std::vector<PushOutcome> status_all(std::shared_ptr<transport::TlsContext> tls,
                                                  const std::vector<transport::PeerAddress>& peers,
                                                  std::chrono::milliseconds timeout);

/// The secretariat's TLS context from DIR/cert.pem and DIR/key.pem, with
/// the CA and CRL (default DIR/../ca.crt and DIR/../crl.pem, the layout of
/// `pki dev-network`). Errors: the credential errors, or `not_secretariat`
/// when the certificate is not hie://<network>/secretariat.
[[nodiscard]] Result<std::shared_ptr<transport::TlsContext>> secretariat_tls(
    const std::filesystem::path& dir, const std::optional<std::string>& ca, const std::optional<std::string>& crl,
    const std::string& network);

/// One line for an operator: the facility, its acknowledgement (versions,
/// sequences, mode, rejections) or why it did not answer.
[[nodiscard]] std::string describe(const PushOutcome& o);

}  // namespace hiegate::tools::secretariat
