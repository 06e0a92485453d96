// Helpers for the store tests: key rings, blocking waits on callbacks,
// in-memory sources and sinks.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "hiegate/daemon/store.hpp"
#include "hiegate/daemon/store_wait.hpp"
#include "support/temp_dir.hpp"

namespace hiegate::daemon::testing {

inline std::shared_ptr<const crypto::KeyRing> make_ring(std::map<std::uint32_t, char> versions) {
  std::map<std::uint32_t, crypto::Bytes> raw;
  std::map<std::uint32_t, crypto::ByteView> views;
  for (auto [v, c] : versions) raw[v] = crypto::Bytes(crypto::kMasterKeySize, static_cast<std::uint8_t>(c));
  for (auto& [v, b] : raw) views[v] = b;
  return std::make_shared<const crypto::KeyRing>(std::move(crypto::KeyRing::from_master_keys(views)).value());
}

template <class T, class Start>
Result<T> wait(Start&& start) {
  return wait_for<T>(std::forward<Start>(start));
}

inline crypto::Source source_of(std::string data) {
  auto s = std::make_shared<std::string>(std::move(data));
  auto pos = std::make_shared<std::size_t>(0);
  return [s, pos](std::span<std::uint8_t> out) -> Result<std::size_t> {
    const std::size_t n = std::min(out.size(), s->size() - *pos);
    std::copy_n(s->data() + *pos, n, out.data());
    *pos += n;
    return n;
  };
}

inline crypto::Sink sink_into(std::string& out) {
  return [&out](crypto::ByteView d) -> Status {
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
    return {};
  };
}

// Blocking wrappers used throughout the tests.
inline Status publish(Store& s, DocumentRecord d, std::string content) {
  return wait<void>([&](auto cb) { s.publish(std::move(d), source_of(std::move(content)), cb); });
}
inline Result<DocumentRecord> get_document(Store& s, const std::string& id) {
  return wait<DocumentRecord>([&](auto cb) { s.get_document(id, cb); });
}
inline Result<std::string> read_content(Store& s, const std::string& id) {
  std::string out;
  auto st = wait<void>([&](auto cb) { s.read_content(id, sink_into(out), cb); });
  if (!st) return std::move(st).error();
  return out;
}
inline Status put_record(Store& s, RecordTable t, StoredRecord r) {
  return wait<void>([&](auto cb) { s.put_record(t, std::move(r), cb); });
}
inline Result<StoredRecord> get_record(Store& s, RecordTable t, const std::string& key) {
  return wait<StoredRecord>([&](auto cb) { s.get_record(t, key, cb); });
}
inline Result<CheckReport> check(Store& s) {
  return wait<CheckReport>([&](auto cb) { s.check(cb); });
}

inline DocumentRecord doc(std::string patient, std::string id, std::string meta = "{}") {
  return DocumentRecord{std::move(patient), std::move(id), std::move(meta), 1700000000, 0};
}

inline Result<std::unique_ptr<Store>> open_store(const test::TempDir& dir,
                                                 std::shared_ptr<const crypto::KeyRing> keys,
                                                 StoreOptions opt = {}) {
  opt.dir = dir / "state";
  return Store::open(std::move(opt), std::move(keys));
}

}  // namespace hiegate::daemon::testing
