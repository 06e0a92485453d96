#include "secretariat/documents.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "hiegate/policy/directive_json.hpp"
#include "hiegate/policy/dsse.hpp"
#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::tools::secretariat {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
constexpr std::string_view kKeyPrefix = "hiegate-ed25519-seed-v1 ";

/// Closes on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

/// Writes and fsyncs through stdio (which retries short writes); `fd` stays
/// owned by the caller.
bool write_all(int fd, std::string_view data) {
  const int dup = ::dup(fd);
  FILE* f = dup < 0 ? nullptr : ::fdopen(dup, "w");
  if (f == nullptr) {
    if (dup >= 0) ::close(dup);
    return false;
  }
  const bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size() && std::fflush(f) == 0;
  return std::fclose(f) == 0 && ok;
}

/// nlohmann throws on invalid UTF-8 in a string member.
Result<std::string> dump(const json& j) {
  try {
    return j.dump();
  } catch (const json::exception&) {
    return make_error("invalid", "a text is not valid UTF-8");
  }
}

/// encode(parse(body)) must give body back: the reader accepted exactly what
/// we meant, no member silently dropped or reinterpreted.
template <class T, class Parse, class Encode>
Result<std::string> round_trip(const json& j, Parse parse, Encode encode) {
  auto body = dump(j);
  if (!body) return body;
  Result<T> back = parse(*body);
  if (!back) return make_error("invalid", back.error().message);
  auto again = dump(encode(*back));
  if (!again || *again != *body)
    return make_error("internal", "the body does not read back as written");
  return body;
}

using policy::heartbeat_json;
using policy::keyset_json;
using policy::orders_json;

Result<policy::Heartbeat> parse_heartbeat(std::string_view b) {
  return policy::parse_heartbeat_body(b);
}

}  // namespace

Result<std::string> read_file(const fs::path& p, std::size_t max) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return make_error("read_failed", "cannot open " + p.string());
  std::string data;
  std::array<char, 8192> buf{};
  while (in.read(buf.data(), buf.size()) || in.gcount() > 0) {
    data.append(buf.data(), static_cast<std::size_t>(in.gcount()));
    if (data.size() > max) return make_error("read_failed", p.string() + " is too large");
  }
  if (in.bad()) return make_error("read_failed", "cannot read " + p.string());
  return data;
}

Status write_file_atomic(const fs::path& p, std::string_view data) {
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::string tmpl = (dir / ("." + p.filename().string() + ".XXXXXX")).string();
  Fd fd(::mkstemp(tmpl.data()));
  if (fd.fd < 0) return make_error("write_failed", "cannot create a file in " + dir.string());
  const bool ok = ::fchmod(fd.fd, 0644) == 0 && write_all(fd.fd, data) && ::fsync(fd.fd) == 0 &&
                  ::rename(tmpl.c_str(), p.c_str()) == 0;
  if (!ok) {
    ::unlink(tmpl.c_str());
    return make_error("write_failed", "cannot write " + p.string());
  }
  const Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.fd < 0 || ::fsync(d.fd) != 0)
    return make_error("write_failed", "cannot sync the directory of " + p.string());
  return {};
}

Status write_secret_key(const fs::path& p, const crypto::Ed25519SecretKey& key) {
  Fd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400));
  if (fd.fd < 0)
    return make_error(errno == EEXIST ? "exists" : "write_failed",
                      "cannot create " + p.string() + (errno == EEXIST ? " (it exists)" : ""));
  std::string line = std::string(kKeyPrefix) + crypto::to_base64(key.seed()) + "\n";
  const bool ok = write_all(fd.fd, line) && ::fsync(fd.fd) == 0;
  sodium_memzero(line.data(), line.size());
  if (!ok) {
    ::unlink(p.c_str());
    return make_error("write_failed", "cannot write " + p.string());
  }
  return {};
}

Result<crypto::Ed25519KeyPair> read_secret_key(const fs::path& p) {
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (fd.fd < 0 || ::fstat(fd.fd, &st) != 0)
    return make_error("read_failed", "cannot open " + p.string());
  if ((st.st_mode & 077) != 0)
    return make_error("insecure_key_file", p.string() + " is readable by group or others");
  std::array<char, 128> buf{};
  std::size_t len = 0;
  while (len < buf.size()) {
    const ssize_t n = ::read(fd.fd, buf.data() + len, buf.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += static_cast<std::size_t>(n);
  }
  std::string_view text(buf.data(), len);
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  Result<crypto::Ed25519KeyPair> out = make_error("bad_key_file", p.string() + " is not a key file");
  if (text.starts_with(kKeyPrefix) && len < buf.size()) {
    auto seed = crypto::from_base64(text.substr(kKeyPrefix.size()));
    if (seed && seed->size() == crypto::kEd25519SeedSize) {
      auto kp = crypto::ed25519_from_seed(*seed);
      if (kp) out = std::move(kp).value();
    }
    if (seed) sodium_memzero(seed->data(), seed->size());
  }
  sodium_memzero(buf.data(), buf.size());
  return out;
}

Result<crypto::Ed25519PublicKey> parse_public_key(std::string_view b64) {
  auto raw = crypto::from_base64(b64);
  if (!raw || raw->size() != crypto::kEd25519PublicKeySize ||
      !crypto::ed25519_is_valid_public_key(*raw))
    return make_error("bad_public_key",
                      "not the base64 of a valid Ed25519 public key: " + std::string(b64));
  crypto::Ed25519PublicKey k{};
  std::copy(raw->begin(), raw->end(), k.begin());
  return k;
}

Result<std::string> keyset_body(const policy::Keyset& k) {
  return round_trip<policy::Keyset>(keyset_json(k), policy::parse_keyset_body, keyset_json);
}
Result<std::string> orders_body(const policy::OrderSet& o) {
  return round_trip<policy::OrderSet>(orders_json(o), policy::parse_orders_body, orders_json);
}
Result<std::string> heartbeat_body(const policy::Heartbeat& h) {
  return round_trip<policy::Heartbeat>(heartbeat_json(h), parse_heartbeat, heartbeat_json);
}

Result<std::string> heartbeat_for(std::string_view network, std::uint64_t keyset_version,
                                  std::uint64_t sequence, std::string_view orders,
                                  policy::Time now, std::chrono::seconds valid_for) {
  auto o = policy::parse_orders_body(orders);
  if (!o) return make_error("invalid", "orders body: " + o.error().message);
  if (o->network != network)
    return make_error("wrong_network", "the orders body is of network " + o->network);
  policy::Heartbeat h;
  h.network = std::string(network);
  h.keyset_version = keyset_version;
  h.sequence = sequence;
  h.issued_at = now;
  h.expires_at = now + valid_for;
  h.orders_sequence = o->sequence;
  h.orders_digest = crypto::sha256(orders);
  return heartbeat_body(h);
}

Result<std::string> signed_heartbeat(std::string_view network, std::uint64_t keyset_version, std::uint64_t sequence,
                                     std::string_view orders, policy::Time now, std::chrono::seconds valid_for,
                                     const crypto::Ed25519KeyPair& key) {
  auto body = heartbeat_for(network, keyset_version, sequence, orders, now, valid_for);
  if (!body) return std::move(body).error();
  auto sig = sign_body(policy::DocumentKind::heartbeat, *body, key);
  if (!sig) return std::move(sig).error();
  return combine(policy::DocumentKind::heartbeat, *body, {*sig});
}

Result<std::chrono::seconds> parse_duration(std::string_view s) {
  std::uint64_t n = 0;
  std::size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9' && i < 9; ++i)
    n = n * 10 + static_cast<unsigned>(s[i] - '0');
  const std::string_view unit = s.substr(i);
  const std::int64_t mult = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600
                            : unit == "d" ? 86400 : 0;
  if (i == 0 || n == 0 || mult == 0)
    return make_error("bad_duration", "not a duration like 24h or 7d: " + std::string(s));
  return std::chrono::seconds(static_cast<std::int64_t>(n) * mult);
}

Result<policy::DocumentKind> parse_kind(std::string_view s) {
  for (auto k : {policy::DocumentKind::keyset, policy::DocumentKind::orders,
                 policy::DocumentKind::heartbeat})
    if (policy::name(k) == s) return k;
  return make_error("bad_type", "type must be keyset, orders or heartbeat: " + std::string(s));
}

Status check_body(policy::DocumentKind kind, std::string_view body) {
  std::optional<Error> err;
  switch (kind) {
    case policy::DocumentKind::keyset:
      if (auto r = policy::parse_keyset_body(body); !r) err = r.error();
      break;
    case policy::DocumentKind::orders:
      if (auto r = policy::parse_orders_body(body); !r) err = r.error();
      break;
    case policy::DocumentKind::heartbeat:
      if (auto r = policy::parse_heartbeat_body(body); !r) err = r.error();
      break;
  }
  if (err) return make_error(err->code, "not a valid " + std::string(policy::name(kind)) +
                                            " body: " + err->message);
  return {};
}

Result<DetachedSignature> sign_body(policy::DocumentKind kind, std::string_view body,
                                    const crypto::Ed25519KeyPair& key) {
  if (auto ok = check_body(kind, body); !ok) return std::move(ok).error();
  DetachedSignature s;
  s.payload_type = std::string(policy::payload_type(kind));
  s.body_sha256 = crypto::to_hex(crypto::sha256(body));
  s.public_key = key.public_key;
  s.keyid = policy::keyid_of(key.public_key);
  const auto sig = crypto::ed25519_sign(key.secret_key,
                                        crypto::as_bytes(policy::pae(s.payload_type, body)));
  s.sig.assign(sig.begin(), sig.end());
  return s;
}

std::string encode_signature(const DetachedSignature& s) {
  return json{{"payloadType", s.payload_type},
              {"body_sha256", s.body_sha256},
              {"public_key", crypto::to_base64(s.public_key)},
              {"keyid", s.keyid},
              {"sig", crypto::to_base64(s.sig)}}
             .dump() +
         "\n";
}

Result<DetachedSignature> decode_signature(std::string_view text) {
  const auto bad = [](const std::string& why) { return make_error("bad_signature_file", why); };
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object() || j.size() != 5) return bad("not a signature file");
  DetachedSignature s;
  try {
    s.payload_type = j.at("payloadType").get<std::string>();
    s.body_sha256 = j.at("body_sha256").get<std::string>();
    s.keyid = j.at("keyid").get<std::string>();
    auto pk = parse_public_key(j.at("public_key").get<std::string>());
    auto sig = crypto::from_base64(j.at("sig").get<std::string>());
    if (!pk || !sig) return bad("bad public key or signature encoding");
    s.public_key = *pk;
    s.sig = std::move(*sig);
  } catch (const json::exception&) {
    return bad("missing or mistyped member");
  }
  if (s.keyid != policy::keyid_of(s.public_key)) return bad("keyid does not match the public key");
  return s;
}

Result<std::string> combine(policy::DocumentKind kind, std::string_view body,
                            const std::vector<DetachedSignature>& sigs) {
  if (auto ok = check_body(kind, body); !ok) return std::move(ok).error();
  policy::Envelope env{std::string(policy::payload_type(kind)), std::string(body), {}};
  const std::string digest = crypto::to_hex(crypto::sha256(body));
  const std::string message = policy::pae(env.payload_type, body);
  std::set<crypto::Ed25519PublicKey> seen;
  for (const auto& s : sigs) {
    if (s.payload_type != env.payload_type || s.body_sha256 != digest ||
        !crypto::ed25519_verify(s.public_key, crypto::as_bytes(message), s.sig))
      return make_error("signature_mismatch",
                        "signature of key " + s.keyid + " is not over this " +
                            std::string(policy::name(kind)) + " body");
    if (!seen.insert(s.public_key).second)
      return make_error("duplicate_signer", "key " + s.keyid + " signed twice");
    env.signatures.push_back({s.keyid, s.sig});
  }
  if (env.signatures.empty()) return make_error("no_signatures", "no signature given");
  return policy::encode_envelope(env);
}

}  // namespace hiegate::tools::secretariat
