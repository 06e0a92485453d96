// Online backup and offline restore of the encrypted store.
//
// A backup is two files: FILE, a consistent SQLite snapshot taken with the
// backup API (still sealed: records stay encrypted), and FILE.manifest, JSON
// with the snapshot's size and SHA-256 and the fingerprints of the key
// versions it needs, so a backup from another facility or key is recognised.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "hiegate/common/result.hpp"
#include "hiegate/crypto/keys.hpp"

namespace hiegate::daemon {

struct BackupManifest {
  int schema_version = 0;
  std::uint64_t size = 0;
  std::string sha256;                                 // hex, of FILE
  std::map<std::uint32_t, std::string> fingerprints;  // key version -> KeyRing::fingerprint
  std::int64_t created_at = 0;                        // unix seconds, supplied by the caller
};

[[nodiscard]] std::filesystem::path manifest_path(const std::filesystem::path& backup);

/// Snapshots the store under `state_dir` (safe while hiegated runs) into `to`
/// and `to`.manifest. Refuses when either exists, or when `keys` does not
/// match the store. Nothing is left behind on failure.
Result<BackupManifest> backup_store(const std::filesystem::path& state_dir, const crypto::KeyRing& keys,
                                    const std::filesystem::path& to, std::int64_t now);

/// Checks `from` against its manifest (backup_corrupt), its key fingerprints
/// and key check values against `keys` (backup_foreign) and its schema and
/// SQLite integrity, then installs it as the store under `state_dir`. Refuses
/// to replace an existing store unless `force` (live_state_exists). Run with
/// hiegated stopped.
Status restore_store(const std::filesystem::path& state_dir, const crypto::KeyRing& keys,
                     const std::filesystem::path& from, bool force);

}  // namespace hiegate::daemon
