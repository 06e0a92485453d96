// Durable storage of accepted secretariat directives, and the start-up rule
// of shared/spec/directives.md §4.
//
// Layout of the directory (0700, created if missing):
//   keyset-<N>.json   keyset envelopes, N >= 2 (version 1 is the trust
//                     anchor in the configuration, not stored here)
//   orders.json       the newest accepted orders envelope
//   heartbeat.json    the newest accepted heartbeat envelope
//   heartbeat-behind.json  while the heartbeats name orders not held: the
//                     first heartbeat of that stretch (its grace starts
//                     there), when it is not heartbeat.json itself
// Each file holds the exact envelope bytes that were accepted. Writes are
// atomic: temp file in the same directory, fsync, rename, fsync directory.
// File names come from the document kind and version only, never from
// document content.
//
// Not thread-safe: the daemon serialises directive application (it must
// anyway: persist, then apply, then answer).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "hiegate/common/result.hpp"
#include "hiegate/policy/directives.hpp"

namespace hiegate::daemon {

class DirectiveStore {
 public:
  /// Creates the directory (0700) if needed. Errors: `store_unavailable`.
  [[nodiscard]] static Result<DirectiveStore> open(std::filesystem::path dir);

  /// Atomically replaces the stored document of `kind` (for a keyset, the
  /// file of `version`). Call after policy::apply() accepted it and before
  /// using its `next` state. Errors: `store_write_failed` (the previous file
  /// is intact).
  [[nodiscard]] Status persist(policy::DocumentKind kind, std::uint64_t version,
                               std::string_view envelope) const;

  /// Atomically replaces heartbeat-behind.json with `envelope`, or removes
  /// it (nullopt). Errors: `store_write_failed`.
  [[nodiscard]] Status persist_behind(const std::optional<std::string>& envelope) const;

  /// The stored envelopes with `trust_anchor` in front: keysets 2, 3, ...
  /// up to the first missing version, then orders and heartbeat if present.
  /// Errors: `store_read_failed` (unreadable or oversized file).
  [[nodiscard]] Result<policy::StoredEnvelopes> read(std::string trust_anchor) const;

  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  explicit DirectiveStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  [[nodiscard]] Status write_file(const std::string& name, std::string_view envelope) const;
  std::filesystem::path dir_;
};

/// What the daemon starts with.
struct DirectiveStartup {
  /// Always usable with policy::apply(): the re-verified stored state, or in
  /// failsafe the trust anchor alone (so the secretariat can still deliver).
  policy::DirectiveState state;
  /// True: serve policy::failsafe_mode() and log `reason` loudly, until an
  /// orders document has been accepted and persisted.
  bool failsafe = false;
  std::string reason;
};

/// §4: no stored orders, an unreadable store, or stored documents that fail
/// re-verification → failsafe. An invalid trust anchor is an error (the
/// configuration is wrong; the daemon must not start): its RejectReason code.
[[nodiscard]] Result<DirectiveStartup> start_directives(const DirectiveStore& store,
                                                        std::string_view trust_anchor,
                                                        const policy::VerifierOptions& options);

}  // namespace hiegate::daemon
