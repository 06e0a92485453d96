// Master keys, key versions and per-purpose subkeys.
//
// A master key is exactly 32 random bytes. Version 1 lives in a file named
// `master-key`; a rotation adds `master-key.2`, `master-key.3`, ... next to it.
// The highest version present is the active one (new records are sealed with
// it); older versions stay readable until a rekey has moved every record off
// them, after which their files can be deleted.
//
// Master keys are never kept: on load each one is expanded with crypto_kdf
// into per-purpose subkeys held in sodium_malloc'd, mlock()ed, read-only
// memory, and the master bytes are wiped. A KeyRing is immutable after load
// and safe to share between threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/secure_buffer.hpp"

namespace hiegate::crypto {

inline constexpr std::size_t kMasterKeySize = 32;
inline constexpr std::size_t kSubkeySize = 32;
inline constexpr const char* kMasterKeyName = "master-key";

/// What a subkey is for. The numeric value is the crypto_kdf subkey id:
/// part of the on-disk format, never renumber.
enum class KeyPurpose : std::uint8_t { content = 1, identifier = 2, audit = 3, check = 4 };

class KeyRing {
public:
  /// Loads `master-key` and `master-key.N` from systemd's credential directory
  /// when $CREDENTIALS_DIRECTORY is set (systemd already restricts access),
  /// plus the newer versions beside `configured` (a rotation); else
  /// `configured` and its `.N` siblings. A file read outside the credential
  /// directory must be a regular file with mode 0400 or 0600, owned by the
  /// effective uid (any owner when that is root). Errors (code
  /// master_key_invalid / master_key_missing) say how to fix the file.
  /// `root_reads_any`: for the offline tools run as root, a key file owned
  /// by the service user is accepted (its mode still checked).
  static Result<KeyRing> load(const std::filesystem::path& configured, bool root_reads_any = false);
  /// Loads from an explicit file (plus its `.N` siblings); `check_owner_mode`
  /// is false only for systemd credential directories.
  static Result<KeyRing> load_file(const std::filesystem::path& primary, bool check_owner_mode,
                                   bool root_reads_any = false);
  /// Builds a ring from raw master keys (version -> 32 bytes). The inputs are
  /// not wiped by this call.
  static Result<KeyRing> from_master_keys(const std::map<std::uint32_t, ByteView>& keys);

  [[nodiscard]] std::uint32_t active_version() const { return subkeys_.rbegin()->first; }
  [[nodiscard]] bool has(std::uint32_t version) const { return subkeys_.count(version) != 0; }
  [[nodiscard]] std::vector<std::uint32_t> versions() const;
  /// 32-byte subkey; precondition: has(version).
  [[nodiscard]] ByteView subkey(std::uint32_t version, KeyPurpose purpose) const;
  /// Key check value: lets a store recognise its key without revealing it.
  [[nodiscard]] Bytes check_value(std::uint32_t version) const;
  /// Short public fingerprint (hex) for manifests and messages.
  [[nodiscard]] std::string fingerprint(std::uint32_t version) const;

private:
  std::map<std::uint32_t, SecureBuffer> subkeys_;  // version -> 4 subkeys, read-only pages
};

/// Reads one master key file into locked memory, enforcing owner/mode/type and
/// length checks (see KeyRing::load).
Result<SecureBuffer> read_master_key(const std::filesystem::path& file, bool check_owner_mode,
                                     bool root_reads_any = false);

/// Creates `out` with a fresh random master key: O_EXCL (never clobbers),
/// mode 0400, fsync of the file and its directory. On failure nothing is left.
Status write_new_master_key(const std::filesystem::path& out);

}  // namespace hiegate::crypto
