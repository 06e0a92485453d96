#include "hiegate/transport/pki.hpp"

#include <botan/ecdsa.h>
#include <botan/mem_ops.h>
#include <botan/pubkey.h>
#include <botan/system_rng.h>
#include <botan/x509_ca.h>
#include <botan/x509_ext.h>
#include <botan/x509self.h>

#include <cstdio>

#include "files.hpp"
#include "x509_util.hpp"

namespace hiegate::transport::pki {
namespace fs = std::filesystem;
using detail::read_text;
using detail::write_file;

namespace {

constexpr const char* kHash = "SHA-256";

std::unique_ptr<Botan::Private_Key> new_key(Botan::RandomNumberGenerator& rng) {
  return std::make_unique<Botan::ECDSA_PrivateKey>(rng, Botan::EC_Group("secp256r1"));
}

std::string key_pem(const Botan::Private_Key& key) { return Botan::PKCS8::PEM_encode(key); }

struct Ca {
  std::string network;
  Botan::X509_Certificate cert;
  std::shared_ptr<Botan::Private_Key> key;
  Botan::X509_CRL crl;
};

Result<Ca> load_ca(const fs::path& dir) {
  auto net = read_text(dir / "network", 256);
  if (!net) return std::move(net).error();
  std::string network = *net;
  while (!network.empty() && (network.back() == '\n' || network.back() == '\r')) network.pop_back();
  if (!is_network_id(network)) return make_error("bad_ca", "bad network id in " + (dir / "network").string());
  auto cert_pem = read_text(dir / "ca.crt");
  if (!cert_pem) return std::move(cert_pem).error();
  auto certs = detail::parse_certs(*cert_pem, "ca.crt");
  if (!certs) return std::move(certs).error();
  auto kp = read_text(dir / "ca.key");
  if (!kp) return std::move(kp).error();
  auto key = detail::parse_key(*kp, "ca.key");
  Botan::secure_scrub_memory(kp->data(), kp->size());
  if (!key) return std::move(key).error();
  auto crl_pem = read_text(dir / "crl.pem", 16 << 20);
  if (!crl_pem) return std::move(crl_pem).error();
  auto crl = detail::parse_crl(*crl_pem, "crl.pem");
  if (!crl) return std::move(crl).error();
  return Ca{std::move(network), certs->front(), std::move(*key), std::move(*crl)};
}

Status write_crl(const fs::path& dir, const Botan::X509_CRL& crl) {
  return write_file(dir / "crl.pem", crl.PEM_encode(), 0644);
}

Status sign_crl(const fs::path& dir, const Ca& ca, const std::vector<Botan::CRL_Entry>& add,
                TimePoint now, int crl_days) {
  try {
    Botan::System_RNG rng;
    Botan::X509_CA x(ca.cert, *ca.key, kHash, rng);
    auto crl = x.update_crl(ca.crl, add, rng, now, std::chrono::hours(24) * crl_days);
    return write_crl(dir, crl);
  } catch (const std::exception& e) {
    return make_error("crl_failed", std::string("cannot sign CRL: ") + e.what());
  }
}

}  // namespace

Result<KeyAndCsr> make_csr(const PeerIdentity& id) {
  try {
    Botan::System_RNG rng;
    auto key = new_key(rng);
    Botan::X509_Cert_Options opts;
    opts.common_name = id.uri();  // informational only; identity is the SAN
    opts.organization = id.network;
    opts.uri = id.uri();
    auto req = Botan::X509::create_cert_req(opts, *key, kHash, rng);
    return KeyAndCsr{key_pem(*key), req.PEM_encode()};
  } catch (const std::exception& e) {
    return make_error("csr_failed", std::string("cannot create CSR: ") + e.what());
  }
}

Status write_csr(const PeerIdentity& id, const fs::path& dir) {
  auto made = make_csr(id);
  if (!made) return std::move(made).error();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("io_error", "cannot create " + dir.string() + ": " + ec.message());
  if (auto s = write_file(dir / "key.pem", made->key_pem, 0400, true); !s) return s;
  return write_file(dir / "csr.pem", made->csr_pem, 0644);
}

Status ca_init(const fs::path& dir, std::string_view network, int days, TimePoint now, int crl_days) {
  if (!is_network_id(network)) return make_error("bad_network", "network id must match [a-z0-9-]{1,32}");
  if (days <= 0 || crl_days <= 0) return make_error("bad_argument", "validity must be positive");
  if (fs::exists(dir / "ca.key")) return make_error("file_exists", dir.string() + " already holds a CA");
  try {
    Botan::System_RNG rng;
    auto key = new_key(rng);
    Botan::X509_Cert_Options opts;
    opts.common_name = std::string(network) + " regional CA";
    opts.organization = std::string(network);
    opts.CA_key(0);
    opts.start = Botan::X509_Time(now - std::chrono::minutes(5));
    opts.end = Botan::X509_Time(now + std::chrono::hours(24) * days);
    auto cert = Botan::X509::create_self_signed_cert(opts, *key, kHash, rng);
    Botan::X509_CA x(cert, *key, kHash, rng);
    auto crl = x.new_crl(rng, now, std::chrono::hours(24) * crl_days);
    std::error_code ec;
    fs::create_directories(dir / "issued", ec);
    if (ec) return make_error("io_error", "cannot create " + dir.string() + ": " + ec.message());
    if (auto s = write_file(dir / "ca.key", key_pem(*key), 0400, true); !s) return s;
    if (auto s = write_file(dir / "network", std::string(network) + "\n", 0644); !s) return s;
    if (auto s = write_file(dir / "ca.crt", cert.PEM_encode(), 0644); !s) return s;
    return write_crl(dir, crl);
  } catch (const std::exception& e) {
    return make_error("ca_failed", std::string("cannot create CA: ") + e.what());
  }
}

Result<std::string> ca_issue(const fs::path& dir, std::string_view csr_pem, Validity validity) {
  if (validity.not_after <= validity.not_before) return make_error("bad_argument", "empty validity");
  auto ca = load_ca(dir);
  if (!ca) return std::move(ca).error();
  auto req = detail::parse_csr(csr_pem);
  if (!req) return std::move(req).error();
  try {
    std::unique_ptr<Botan::Public_Key> pub(req->subject_public_key());
    if (!req->check_signature(*pub)) return make_error("bad_csr", "CSR signature does not verify");
    if (!detail::acceptable_key(*pub)) return make_error("bad_csr", "CSR key must be ECDSA P-256 or P-384");
    auto id = detail::identity_from_san(req->subject_alt_name(), ca->network);
    if (!id) return std::move(id).error();

    Botan::System_RNG rng;
    Botan::Extensions ext;
    ext.add(new Botan::Cert_Extension::Basic_Constraints(false), true);
    ext.add(new Botan::Cert_Extension::Key_Usage(Botan::DIGITAL_SIGNATURE), true);
    ext.add(new Botan::Cert_Extension::Extended_Key_Usage(
        {Botan::OID::from_string("PKIX.ServerAuth"), Botan::OID::from_string("PKIX.ClientAuth")}));
    ext.add(new Botan::Cert_Extension::Subject_Alternative_Name(
        Botan::AlternativeName("", id->uri(), "", "")));
    ext.add(new Botan::Cert_Extension::Subject_Key_ID(pub->public_key_bits(), kHash));
    ext.add(new Botan::Cert_Extension::Authority_Key_ID(ca->cert.subject_key_id()));

    Botan::X509_DN subject;
    subject.add_attribute("X520.CommonName", id->uri());
    subject.add_attribute("X520.Organization", id->network);
    Botan::AlgorithmIdentifier sig_algo;
    std::unique_ptr<Botan::PK_Signer> signer(Botan::choose_sig_format(*ca->key, rng, kHash, sig_algo));
    const Botan::BigInt serial(rng, 127);
    auto cert = Botan::X509_CA::make_cert(signer.get(), rng, serial, sig_algo, pub->subject_public_key(),
                                          Botan::X509_Time(validity.not_before),
                                          Botan::X509_Time(validity.not_after),
                                          ca->cert.subject_dn(), subject, ext);
    const std::string pem = cert.PEM_encode();
    std::error_code ec;
    fs::create_directories(dir / "issued", ec);
    if (auto s = write_file(dir / "issued" / (detail::serial_of(cert) + ".pem"), pem, 0644, true); !s)
      return std::move(s).error();
    return pem;
  } catch (const std::exception& e) {
    return make_error("issue_failed", std::string("cannot issue: ") + e.what());
  }
}

Status ca_revoke(const fs::path& dir, std::string_view serial, TimePoint now, int crl_days) {
  if (serial.empty() || serial.size() > 64 ||
      serial.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return make_error("bad_argument", "serial must be lower-case hex");
  auto ca = load_ca(dir);
  if (!ca) return std::move(ca).error();
  auto pem = read_text(dir / "issued" / (std::string(serial) + ".pem"));
  if (!pem) return make_error("unknown_serial", "no issued certificate with serial " + std::string(serial));
  auto certs = detail::parse_certs(*pem, "issued certificate");
  if (!certs) return std::move(certs).error();
  if (ca->crl.is_revoked(certs->front())) return make_error("already_revoked", "already revoked");
  return sign_crl(dir, *ca, {Botan::CRL_Entry(certs->front(), Botan::CRL_Code::KEY_COMPROMISE)}, now,
                  crl_days);
}

Status ca_crl(const fs::path& dir, TimePoint now, int crl_days) {
  auto ca = load_ca(dir);
  if (!ca) return std::move(ca).error();
  return sign_crl(dir, *ca, {}, now, crl_days);
}

Result<std::string> serial_hex(std::string_view cert_pem) {
  auto certs = detail::parse_certs(cert_pem, "certificate");
  if (!certs) return std::move(certs).error();
  return detail::serial_of(certs->front());
}

Result<DevNetwork> dev_network(const fs::path& out, std::string_view network, int facilities,
                               TimePoint now, int days) {
  if (facilities < 0 || facilities > 1000) return make_error("bad_argument", "facilities must be 0..1000");
  DevNetwork net{out / "ca", out / "secretariat", {}};
  if (auto s = ca_init(net.ca_dir, network, days, now); !s) return std::move(s).error();
  auto issue_into = [&](const PeerIdentity& id, const fs::path& dir) -> Status {
    auto made = make_csr(id);
    if (!made) return std::move(made).error();
    auto cert = ca_issue(net.ca_dir, made->csr_pem, {now - std::chrono::minutes(5), now + std::chrono::hours(24) * days});
    if (!cert) return std::move(cert).error();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return make_error("io_error", "cannot create " + dir.string());
    if (auto s = write_file(dir / "key.pem", made->key_pem, 0400, true); !s) return s;
    return write_file(dir / "cert.pem", *cert, 0644);
  };
  if (auto s = issue_into(PeerIdentity{PeerIdentity::Kind::secretariat, std::string(network), ""},
                          net.secretariat_dir); !s)
    return std::move(s).error();
  for (int i = 1; i <= facilities; ++i) {
    char code[11];
    std::snprintf(code, sizeof code, "13%08d", i);
    net.facility_codes.emplace_back(code);
    auto s = issue_into(PeerIdentity{PeerIdentity::Kind::facility, std::string(network), code},
                        out / "facilities" / code);
    if (!s) return std::move(s).error();
  }
  for (const char* f : {"ca.crt", "crl.pem"}) {
    std::error_code ec;
    fs::copy_file(net.ca_dir / f, out / f, fs::copy_options::overwrite_existing, ec);
    if (ec) return make_error("io_error", std::string("cannot copy ") + f + ": " + ec.message());
  }
  return net;
}

}  // namespace hiegate::transport::pki
