#include "hiegate/daemon/backup.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "store/store_impl.hpp"

namespace hiegate::daemon {
namespace {

constexpr const char* kManifestFormat = "hiegate-backup-1";

Error io_error(const std::string& what, const std::filesystem::path& p) {
  return make_error("io_error", what + " " + p.string() + ": " + std::strerror(errno));
}

// SHA-256 and size of a file, streamed.
Result<std::pair<std::string, std::uint64_t>> digest_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return io_error("cannot read", p);
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::vector<char> buf(1 << 16);
  std::uint64_t size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(buf.data()), n);
    size += n;
  }
  if (in.bad()) return io_error("cannot read", p);
  std::uint8_t out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, out);
  return std::make_pair(crypto::to_hex(out), size);
}

Status fsync_path(const std::filesystem::path& p, bool directory) {
  const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", p);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error("cannot fsync", p);
  return {};
}

std::filesystem::path parent_of(const std::filesystem::path& p) {
  return p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
}

// Key versions a store still needs: its current one and any rekey target.
Result<std::map<std::uint32_t, std::string>> needed_fingerprints(sqlite::Db& db, const crypto::KeyRing& keys) {
  auto current = store::verify_keys(db, keys);
  if (!current) return std::move(current).error();
  auto target = store::meta_int(db, "rekey_target", 0);
  if (!target) return std::move(target).error();
  std::map<std::uint32_t, std::string> out;
  for (const auto v : {static_cast<std::int64_t>(*current), *target}) {
    if (v != 0) out[static_cast<std::uint32_t>(v)] = keys.fingerprint(static_cast<std::uint32_t>(v));
  }
  return out;
}

Status snapshot(sqlite::Db& src, const std::filesystem::path& to) {
  auto dst = sqlite::Db::open(to, false, true);
  if (!dst) return std::move(dst).error();
  sqlite3_backup* b = sqlite3_backup_init(dst->get(), "main", src.get(), "main");
  if (b == nullptr) return sqlite::error_from(dst->get(), sqlite3_errcode(dst->get()), "cannot start backup");
  const int step = sqlite3_backup_step(b, -1);  // one read transaction: a consistent snapshot
  const int fin = sqlite3_backup_finish(b);
  if (step != SQLITE_DONE) return sqlite::error_from(dst->get(), step, "backup failed");
  if (fin != SQLITE_OK) return sqlite::error_from(dst->get(), fin, "backup failed");
  return dst->exec("PRAGMA journal_mode=DELETE");  // a self-contained single file
}

Status write_new_file(const std::filesystem::path& p, const std::string& content) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", p);
  const bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(p.c_str());
    return io_error("cannot write", p);
  }
  return {};
}

Result<BackupManifest> read_manifest(const std::filesystem::path& from) {
  std::ifstream in(manifest_path(from));
  if (!in) return make_error("backup_invalid", "cannot read " + manifest_path(from).string());
  try {
    const auto j = nlohmann::json::parse(in);
    if (j.at("format").get<std::string>() != kManifestFormat) {
      return make_error("backup_invalid", "unknown backup manifest format");
    }
    BackupManifest m;
    m.schema_version = j.at("schema_version").get<int>();
    m.size = j.at("size").get<std::uint64_t>();
    m.sha256 = j.at("sha256").get<std::string>();
    m.created_at = j.at("created_at").get<std::int64_t>();
    for (const auto& [v, fp] : j.at("key_fingerprints").items()) m.fingerprints[std::stoul(v)] = fp.get<std::string>();
    return m;
  } catch (const std::exception& e) {
    return make_error("backup_invalid", "backup manifest " + manifest_path(from).string() + " is malformed: " + e.what());
  }
}

}  // namespace

std::filesystem::path manifest_path(const std::filesystem::path& backup) {
  return std::filesystem::path(backup.string() + ".manifest");
}

Result<BackupManifest> backup_store(const std::filesystem::path& state_dir, const crypto::KeyRing& keys,
                                    const std::filesystem::path& to, std::int64_t now) {
  std::error_code ec;
  if (std::filesystem::exists(to, ec) || std::filesystem::exists(manifest_path(to), ec)) {
    return make_error("file_exists", to.string() + " or its manifest already exists; choose a new name");
  }
  auto src = sqlite::Db::open(state_dir / kStoreFileName, true, false);
  if (!src) return std::move(src).error();
  auto fps = needed_fingerprints(*src, keys);
  if (!fps) return std::move(fps).error();
  auto schema = store::schema_version(*src);
  if (!schema) return std::move(schema).error();
  const std::filesystem::path partial = to.string() + ".partial";
  std::filesystem::remove(partial, ec);
  auto fail = [&](Error e) -> Result<BackupManifest> {
    std::filesystem::remove(partial, ec);
    return e;
  };
  if (auto s = snapshot(*src, partial); !s) return fail(std::move(s).error());
  ::chmod(partial.c_str(), 0600);
  if (auto s = fsync_path(partial, false); !s) return fail(std::move(s).error());
  auto digest = digest_file(partial);
  if (!digest) return fail(std::move(digest).error());
  BackupManifest m{*schema, digest->second, digest->first, std::move(*fps), now};
  nlohmann::json j{{"format", kManifestFormat}, {"schema_version", m.schema_version}, {"size", m.size},
                   {"sha256", m.sha256},        {"created_at", m.created_at},         {"key_fingerprints", {}}};
  for (const auto& [v, fp] : m.fingerprints) j["key_fingerprints"][std::to_string(v)] = fp;
  if (auto s = write_new_file(manifest_path(to), j.dump(2) + "\n"); !s) return fail(std::move(s).error());
  if (::link(partial.c_str(), to.c_str()) != 0) {  // never replaces an existing file
    std::filesystem::remove(manifest_path(to), ec);
    return fail(io_error("cannot create", to));
  }
  std::filesystem::remove(partial, ec);
  if (auto s = fsync_path(parent_of(to), true); !s) return std::move(s).error();
  return m;
}

Status restore_store(const std::filesystem::path& state_dir, const crypto::KeyRing& keys,
                     const std::filesystem::path& from, bool force) {
  auto m = read_manifest(from);
  if (!m) return std::move(m).error();
  auto digest = digest_file(from);
  if (!digest) return std::move(digest).error();
  if (digest->second != m->size || digest->first != m->sha256) {
    return make_error("backup_corrupt", from.string() + " does not match its manifest (size or SHA-256 differs)");
  }
  for (const auto& [v, fp] : m->fingerprints) {
    if (!keys.has(v) || keys.fingerprint(v) != fp) {
      return make_error("backup_foreign", from.string() + " was made with a different master key (version " +
                                              std::to_string(v) + ", fingerprint " + fp +
                                              "); restore it only with that facility's key");
    }
  }
  if (m->schema_version > kStoreSchemaVersion) {
    return make_error("schema_too_new", "the backup has a newer schema than this build");
  }
  {
    auto db = sqlite::Db::open(from, true, false);
    if (!db) return std::move(db).error();
    if (auto fps = needed_fingerprints(*db, keys); !fps) {
      return make_error("backup_foreign", "the backup's key check values do not match: " + fps.error().message);
    }
    auto ic = db->prepare("PRAGMA integrity_check");
    if (!ic) return std::move(ic).error();
    auto r = ic->step();
    if (!r || !*r || ic->text(0) != "ok") return make_error("backup_corrupt", "the backup fails SQLite's integrity check");
  }
  const auto live = state_dir / kStoreFileName;
  std::error_code ec;
  if (std::filesystem::exists(live, ec) && !force) {
    return make_error("live_state_exists", live.string() + " exists; stop hiegated and pass --force to replace it");
  }
  std::filesystem::create_directories(state_dir, ec);
  const auto staged = state_dir / (std::string(kStoreFileName) + ".restore");
  std::filesystem::remove(staged, ec);
  std::filesystem::copy_file(from, staged, ec);
  if (ec) {
    std::filesystem::remove(staged, ec);
    return make_error("io_error", "cannot copy " + from.string() + ": " + ec.message());
  }
  ::chmod(staged.c_str(), 0600);
  if (auto s = fsync_path(staged, false); !s) {
    std::filesystem::remove(staged, ec);
    return s;
  }
  // The live store's WAL must not meet the restored file, but it is only
  // dropped once the restored file is in place: until then a failure puts
  // it back, and the live store keeps its last commits.
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> aside;
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::filesystem::path f = live.string() + suffix;
    const std::filesystem::path away = f.string() + ".replaced";
    std::error_code fec;
    if (!std::filesystem::exists(f, fec)) continue;
    std::filesystem::rename(f, away, fec);
    if (fec) ec = fec;
    else aside.emplace_back(f, away);
  }
  if (!ec) std::filesystem::rename(staged, live, ec);
  if (ec) {
    std::error_code ig;
    for (const auto& [f, away] : aside) std::filesystem::rename(away, f, ig);
    std::filesystem::remove(staged, ig);
    return make_error("io_error", "cannot install " + live.string() + ": " + ec.message() +
                                      "; the live store was left as it was");
  }
  for (const auto& [f, away] : aside) std::filesystem::remove(away, ec);
  return fsync_path(state_dir, true);
}

}  // namespace hiegate::daemon
