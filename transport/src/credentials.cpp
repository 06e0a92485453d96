#include "hiegate/transport/credentials.hpp"

#include <algorithm>

#include <botan/mem_ops.h>
#include <botan/x509path.h>

#include "credentials_impl.hpp"
#include "files.hpp"
#include "verified_chains.hpp"
#include "x509_util.hpp"

namespace hiegate::transport {
namespace {

Status check_revocation(const Credentials::Impl& c, const std::vector<Botan::X509_Certificate>& chain) {
  for (const auto& cert : chain) {
    if (cert.issuer_dn() == c.ca.subject_dn() && c.crl.is_revoked(cert))
      return make_error("certificate_revoked", "certificate " + detail::serial_of(cert) + " is revoked");
  }
  return {};
}

/// The window in which every certificate of `chain` and the CA is valid
/// (fail closed: certificates the validated path did not need count too).
detail::VerifiedChains::Entry validity_window(const Credentials::Impl& c,
                                              const std::vector<Botan::X509_Certificate>& chain, PeerIdentity id) {
  detail::VerifiedChains::Entry e{std::move(id), c.ca.not_before().to_std_timepoint(),
                                  c.ca.not_after().to_std_timepoint()};
  for (const auto& cert : chain) {
    e.valid_from = std::max(e.valid_from, cert.not_before().to_std_timepoint());
    e.valid_until = std::min(e.valid_until, cert.not_after().to_std_timepoint());
  }
  return e;
}

/// The checks that depend on time and on the CRL, for a chain that passed
/// full validation against this snapshot before.
Result<PeerIdentity> recheck(const Credentials::Impl& c, const std::vector<Botan::X509_Certificate>& chain,
                             const detail::VerifiedChains::Entry& e, SystemTime now) {
  if (now > c.crl_next_update + c.opts.crl_grace)
    return make_error("crl_stale", "the CRL is past its nextUpdate and grace period");
  if (now < e.valid_from) return make_error("certificate_not_yet_valid", "certificate is not yet valid");
  if (now > e.valid_until) return make_error("certificate_expired", "certificate has expired");
  if (auto st = check_revocation(c, chain); !st) return std::move(st).error();
  return e.identity;
}

Result<PeerIdentity> verify_chain(const Credentials::Impl& c, const std::vector<Botan::X509_Certificate>& chain,
                                  Botan::Usage_Type usage, SystemTime now, bool crl_freshness) {
  if (chain.empty()) return make_error("no_certificate", "peer sent no certificate");
  if (chain.size() > c.opts.max_chain_certs) return make_error("chain_too_long", "certificate chain too long");
  std::size_t bytes = 0;
  for (const auto& cert : chain) bytes += cert.BER_encode().size();
  if (bytes > c.opts.max_chain_bytes) return make_error("chain_too_large", "certificate chain too large");
  if (crl_freshness && now > c.crl_next_update + c.opts.crl_grace)
    return make_error("crl_stale", "the CRL is past its nextUpdate and grace period");

  const Botan::Path_Validation_Restrictions restrictions(false, 110, false, {"SHA-256", "SHA-384"});
  const auto result = Botan::x509_path_validate(chain, restrictions, *c.roots, "", usage, now);
  if (!result.successful_validation()) {
    switch (result.result()) {
      case Botan::Certificate_Status_Code::CERT_HAS_EXPIRED:
        return make_error("certificate_expired", "certificate has expired");
      case Botan::Certificate_Status_Code::CERT_NOT_YET_VALID:
        return make_error("certificate_not_yet_valid", "certificate is not yet valid");
      default:
        return make_error("certificate_invalid", "path validation failed: " + result.result_string());
    }
  }
  if (auto st = check_revocation(c, chain); !st) return std::move(st).error();
  std::unique_ptr<Botan::Public_Key> pub(chain.front().subject_public_key());
  if (!detail::acceptable_key(*pub)) return make_error("bad_key_type", "certificate key is not ECDSA P-256/P-384");
  return detail::identity_from_san(chain.front().subject_alt_name(), c.opts.network);
}

}  // namespace

namespace detail {
Result<PeerIdentity> verify_peer(const Credentials::Impl& creds, const std::vector<Botan::X509_Certificate>& chain,
                                 Botan::Usage_Type usage, SystemTime now) {
  if (chain.empty()) return make_error("no_certificate", "peer sent no certificate");
  if (chain.size() > creds.opts.max_chain_certs) return make_error("chain_too_long", "certificate chain too long");
  std::string key;
  try {
    key = VerifiedChains::key(chain, static_cast<int>(usage));
  } catch (const std::exception& e) {
    return make_error("certificate_invalid", std::string("cannot encode the peer chain: ") + e.what());
  }
  if (const auto hit = creds.verified->find(key)) return recheck(creds, chain, *hit, now);
  auto id = verify_chain(creds, chain, usage, now, true);
  if (id) creds.verified->insert(key, validity_window(creds, chain, *id));
  return id;
}
}  // namespace detail

Credentials::Credentials(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Credentials::~Credentials() = default;

namespace {
/// `pem` as a CRL of `ca`, signed by it, issued after `current`.
Result<Botan::X509_CRL> crl_after(std::string_view pem, const Botan::X509_Certificate& ca,
                                  const Botan::X509_CRL& current, std::string_view what) {
  auto crl = detail::parse_crl(pem, what);
  if (!crl) return std::move(crl).error();
  try {
    std::unique_ptr<Botan::Public_Key> ca_key(ca.subject_public_key());
    if (crl->issuer_dn() != ca.subject_dn() || !crl->check_signature(*ca_key))
      return make_error("bad_crl", std::string(what) + " is not signed by the CA");
    if (!(current.this_update() < crl->this_update()))
      return make_error("crl_not_newer", std::string(what) + " is not newer than the CRL in force");
  } catch (const std::exception& e) {
    return make_error("bad_crl", std::string("cannot check ") + std::string(what) + ": " + e.what());
  }
  return crl;
}

/// The CRL at `path` when it may replace `current` (crl_after), else nothing.
std::optional<Botan::X509_CRL> newer_crl(const std::filesystem::path& path, const Botan::X509_Certificate& ca,
                                         const Botan::X509_CRL& current) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  auto pem = detail::read_text(path, 16 << 20);
  if (!pem) return std::nullopt;
  auto crl = crl_after(*pem, ca, current, path.string());
  if (!crl) return std::nullopt;
  return std::move(*crl);
}
}  // namespace

Status check_crl_update(const Credentials& current, std::string_view pem) {
  auto crl = crl_after(pem, current.impl().ca, current.impl().crl, "the CRL");
  if (!crl) return std::move(crl).error();
  return {};
}

Status keep_crl_update(const Credentials& current, std::string_view pem, const std::filesystem::path& keep) {
  if (auto st = check_crl_update(current, pem); !st) return st;
  return detail::write_file(keep, pem, 0644);
}

Result<std::shared_ptr<const Credentials>> Credentials::load(const CredentialPaths& paths,
                                                             const CredentialOptions& opts, SystemTime now) {
  if (!is_network_id(opts.network)) return make_error("bad_config", "network id is not valid");
  if (opts.expected_identity && opts.expected_identity->network != opts.network)
    return make_error("bad_config", "the expected identity is not of network " + opts.network);
  auto cert_pem = detail::read_text(paths.cert);
  if (!cert_pem) return std::move(cert_pem).error();
  auto chain = detail::parse_certs(*cert_pem, paths.cert.string());
  if (!chain) return std::move(chain).error();
  auto key_pem = detail::read_text(paths.key, 64 * 1024);
  bool from_credential = false;
  if (!key_pem && !paths.key_credential.empty()) {
    auto handed = detail::read_text(paths.key_credential, 64 * 1024);
    if (handed && *handed != "absent") {
      key_pem = std::move(handed);
      from_credential = true;
    }
  }
  if (!key_pem) return std::move(key_pem).error();
  const std::string key_source = from_credential ? paths.key_credential.string() : paths.key.string();
  auto key = detail::parse_key(*key_pem, key_source);
  Botan::secure_scrub_memory(key_pem->data(), key_pem->size());
  if (!key) return std::move(key).error();
  auto ca_pem = detail::read_text(paths.ca);
  if (!ca_pem) return std::move(ca_pem).error();
  auto ca = detail::parse_certs(*ca_pem, paths.ca.string());
  if (!ca) return std::move(ca).error();
  auto crl_pem = detail::read_text(paths.crl, 16 << 20);
  if (!crl_pem) return make_error("crl_missing", "CRL unavailable (fail closed): " + crl_pem.error().message);
  auto crl = detail::parse_crl(*crl_pem, paths.crl.string());
  if (!crl) return std::move(crl).error();

  auto impl = std::make_unique<Impl>(Impl{opts, {}, std::move(*chain), std::move(*key), ca->front(),
                                          std::move(*crl), nullptr, {}, {},
                                          std::make_shared<detail::VerifiedChains>()});
  try {
    if (!impl->ca.is_CA_cert()) return make_error("bad_ca", paths.ca.string() + " is not a CA certificate");
    std::unique_ptr<Botan::Public_Key> own(impl->chain.front().subject_public_key());
    if (impl->key->algo_name() != own->algo_name() || impl->key->public_key_bits() != own->public_key_bits()) {
      if (!from_credential)
        return make_error("key_mismatch", paths.key.string() + " does not match " + paths.cert.string());
      // Handed over at start: a key renewed since then needs a restart.
      return make_error("key_mismatch", "the TLS key handed over at start (" + key_source + ") does not match " +
                                            paths.cert.string() + "; restart the service to load the new " +
                                            paths.key.string() + ", or make it readable by the service user");
    }
    std::unique_ptr<Botan::Public_Key> ca_key(impl->ca.subject_public_key());
    if (impl->crl.issuer_dn() != impl->ca.subject_dn() || !impl->crl.check_signature(*ca_key))
      return make_error("bad_crl", paths.crl.string() + " is not signed by the CA");
    if (!paths.crl_update.empty()) {
      if (auto pulled = newer_crl(paths.crl_update, impl->ca, impl->crl)) impl->crl = std::move(*pulled);
    }
    impl->crl_next_update = impl->crl.next_update().to_std_timepoint();
    impl->not_after = impl->chain.front().not_after().to_std_timepoint();
  } catch (const std::exception& e) {
    return make_error("bad_certificate", std::string("cannot check credentials: ") + e.what());
  }
  impl->roots = std::make_unique<Botan::Certificate_Store_In_Memory>(impl->ca);
  auto id = verify_chain(*impl, impl->chain, Botan::Usage_Type::UNSPECIFIED, now, false);
  if (!id) return Error{id.error().code, "own certificate: " + id.error().message};
  if (opts.expected_identity && *id != *opts.expected_identity)
    return make_error("certificate_mismatch", "the certificate " + paths.cert.string() + " is for " + id->uri() +
                                                  ", not for " + opts.expected_identity->uri());
  impl->identity = *id;
  return std::shared_ptr<const Credentials>(new Credentials(std::move(impl)));
}

const PeerIdentity& Credentials::identity() const { return impl_->identity; }
const CredentialOptions& Credentials::options() const { return impl_->opts; }
SystemTime Credentials::not_after() const { return impl_->not_after; }
SystemTime Credentials::crl_next_update() const { return impl_->crl_next_update; }
std::string Credentials::serial() const { return detail::serial_of(impl_->chain.front()); }
std::size_t Credentials::verified_chains() const { return impl_->verified->size(); }
bool Credentials::crl_stale(SystemTime now) const { return now > impl_->crl_next_update; }
bool Credentials::crl_usable(SystemTime now) const {
  return now <= impl_->crl_next_update + impl_->opts.crl_grace;
}

std::vector<std::string> Credentials::warnings(SystemTime now) const {
  std::vector<std::string> w;
  if (now + impl_->opts.expiry_warning >= impl_->not_after) w.emplace_back("own certificate expires soon");
  if (!crl_usable(now))
    w.emplace_back("CRL is stale beyond its grace period: peer handshakes are refused");
  else if (crl_stale(now))
    w.emplace_back("CRL is past its nextUpdate (within grace)");
  return w;
}

Result<std::shared_ptr<CredentialStore>> CredentialStore::open(CredentialPaths paths, CredentialOptions opts,
                                                               SystemTime now) {
  auto first = Credentials::load(paths, opts, now);
  if (!first) return std::move(first).error();
  return std::make_shared<CredentialStore>(std::move(paths), std::move(opts), std::move(*first));
}

CredentialStore::CredentialStore(CredentialPaths paths, CredentialOptions opts,
                                 std::shared_ptr<const Credentials> first)
    : paths_(std::move(paths)), opts_(std::move(opts)), current_(std::move(first)) {}

std::shared_ptr<const Credentials> CredentialStore::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

Status CredentialStore::reload(SystemTime now) {
  auto next = Credentials::load(paths_, opts_, now);
  if (!next) return std::move(next).error();
  std::lock_guard lock(mu_);
  current_ = std::move(*next);
  return {};
}

}  // namespace hiegate::transport
