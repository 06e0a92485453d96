// Field packing and chunked content streams.
#include "store/store_impl.hpp"

namespace hiegate::daemon::store {

Status insert_chunk(sqlite::Db& db, std::string_view owner, const IdHash& id, std::int64_t seq, ByteView data) {
  auto s = db.cached("INSERT INTO chunks(owner, id_hash, seq, data) VALUES(?, ?, ?, ?)");
  if (!s) return std::move(s).error();
  return (*s)->bind(1, owner).bind(2, ByteView(id)).bind(3, seq).bind(4, data).run();
}

namespace {

std::string content_table(std::string_view owner) { return std::string(owner) + ".content"; }

// Reads chunk `seq`; nullopt when there is none.
Result<std::optional<Bytes>> load_chunk(sqlite::Db& db, std::string_view owner, const IdHash& id, std::int64_t seq) {
  auto s = db.cached("SELECT data FROM chunks WHERE owner=? AND id_hash=? AND seq=?");
  if (!s) return std::move(s).error();
  return (*s)->bind(1, owner).bind(2, ByteView(id)).bind(3, seq).first_blob();
}

// Drives an opener over the stored chunks of (owner, id), handing each
// authenticated plaintext chunk to `each`.
template <class Each>
Status for_each_chunk(sqlite::Db& db, const crypto::KeyRing& keys, std::string_view owner, const IdHash& id,
                      ByteView header, Each&& each) {
  const std::string table = content_table(owner);
  auto opener = crypto::StreamOpener::start(keys, crypto::Binding{table, id}, header);
  if (!opener) return std::move(opener).error();
  for (std::int64_t seq = 0; !opener->finished(); ++seq) {
    auto chunk = load_chunk(db, owner, id, seq);
    if (!chunk) return std::move(chunk).error();
    if (!*chunk) return make_error("record_corrupt", "content is missing a chunk");
    auto plain = opener->pull(**chunk);
    if (!plain) return std::move(plain).error();
    if (auto s = each(seq, *plain, opener->finished()); !s) return s;
  }
  return {};
}

}  // namespace

Bytes pack(std::initializer_list<std::string_view> fields) {
  Bytes out;
  for (const auto f : fields) {
    const auto n = static_cast<std::uint32_t>(f.size());
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(n >> s));
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

std::optional<std::vector<std::string>> unpack(ByteView data, std::size_t count) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < 4) return std::nullopt;
    const std::size_t n = (std::size_t{data[pos]} << 24) | (std::size_t{data[pos + 1]} << 16) |
                          (std::size_t{data[pos + 2]} << 8) | data[pos + 3];
    pos += 4;
    if (data.size() - pos < n) return std::nullopt;
    out.emplace_back(reinterpret_cast<const char*>(data.data() + pos), n);
    pos += n;
  }
  if (out.size() != count) return std::nullopt;
  return out;
}

Result<std::pair<Bytes, std::uint64_t>> write_content(sqlite::Db& db, const crypto::KeyRing& keys,
                                                      std::uint32_t version, std::string_view owner,
                                                      const IdHash& id, const crypto::Source& source) {
  const std::string table = content_table(owner);
  crypto::StreamSealer sealer(keys, version, crypto::Binding{table, id});
  Bytes cur(crypto::kStreamChunk), next(crypto::kStreamChunk);
  auto n = crypto::read_full(source, cur);
  if (!n) return std::move(n).error();
  std::size_t cur_len = *n;
  std::uint64_t total = 0;
  for (std::int64_t seq = 0;; ++seq) {
    std::size_t next_len = 0;
    if (cur_len == cur.size()) {
      auto m = crypto::read_full(source, next);
      if (!m) return std::move(m).error();
      next_len = *m;
    }
    const bool last = next_len == 0;
    total += cur_len;
    if (auto s = insert_chunk(db, owner, id, seq, sealer.push(ByteView(cur).first(cur_len), last)); !s) {
      return std::move(s).error();
    }
    if (last) break;
    cur.swap(next);
    cur_len = next_len;
  }
  return std::make_pair(sealer.header(), total);
}

Status read_content(sqlite::Db& db, const crypto::KeyRing& keys, std::string_view owner, const IdHash& id,
                    ByteView header, const crypto::Sink* sink) {
  // One chunk per window: the sink gets each chunk once it is authenticated,
  // and the end is verified as for a cursor (nothing after the final chunk).
  ContentWindows w;
  while (!w.ended) {
    auto piece = read_window(db, keys, owner, id, header, w, 1);
    if (!piece) return std::move(piece).error();
    if (sink != nullptr && !piece->empty()) {
      if (auto st = (*sink)(ByteView(reinterpret_cast<const std::uint8_t*>(piece->data()), piece->size())); !st) {
        return st;
      }
    }
  }
  return {};
}

Result<std::string> read_window(sqlite::Db& db, const crypto::KeyRing& keys, std::string_view owner, const IdHash& id,
                                ByteView header, ContentWindows& w, std::size_t max_bytes) {
  if (w.ended) return std::string();
  if (!w.opener) {
    auto opener = crypto::StreamOpener::start(keys, crypto::Binding{content_table(owner), id}, header);
    if (!opener) return std::move(opener).error();
    w.opener.emplace(std::move(*opener));
    w.id = id;
    w.header.assign(header.begin(), header.end());
  } else if (id != w.id || !std::equal(header.begin(), header.end(), w.header.begin(), w.header.end())) {
    return make_error("content_changed", "the document was replaced while it was being read");
  }
  std::string out;
  while (!w.opener->finished() && (out.empty() || out.size() < max_bytes)) {
    auto chunk = load_chunk(db, owner, id, w.seq);
    if (!chunk) return std::move(chunk).error();
    if (!*chunk) return make_error("record_corrupt", "content is missing a chunk");
    auto plain = w.opener->pull(**chunk);
    if (!plain) return std::move(plain).error();
    out.append(reinterpret_cast<const char*>(plain->data()), plain->size());
    ++w.seq;
  }
  if (w.opener->finished()) {
    auto extra = load_chunk(db, owner, id, w.seq);
    if (!extra) return std::move(extra).error();
    if (*extra) return make_error("record_corrupt", "content has data after its final chunk");
    w.ended = true;
  }
  return out;
}

Result<Bytes> rekey_content(sqlite::Db& db, const crypto::KeyRing& keys, std::string_view owner,
                            const IdHash& old_id, ByteView old_header, std::uint32_t version, const IdHash& new_id) {
  const std::string table = content_table(owner);
  crypto::StreamSealer sealer(keys, version, crypto::Binding{table, new_id});
  auto st = for_each_chunk(db, keys, owner, old_id, old_header,
                           [&](std::int64_t seq, const Bytes& plain, bool last) -> Status {
                             return insert_chunk(db, owner, new_id, seq, sealer.push(plain, last));
                           });
  if (!st) return std::move(st).error();
  if (auto s = delete_content(db, owner, old_id); !s) return std::move(s).error();
  return sealer.header();
}

Status delete_content(sqlite::Db& db, std::string_view owner, ByteView id) {
  auto s = db.cached("DELETE FROM chunks WHERE owner=? AND id_hash=?");
  if (!s) return std::move(s).error();
  return (*s)->bind(1, owner).bind(2, id).run();
}

}  // namespace hiegate::daemon::store

namespace hiegate::daemon::store {

IdHash to_hash(ByteView b) {
  IdHash h{};
  if (b.size() == h.size()) std::copy(b.begin(), b.end(), h.begin());
  return h;
}

std::pair<IdHash, std::optional<IdHash>> row_hashes(const SealedTable& t, const crypto::KeyRing& keys,
                                                    std::uint32_t version, const std::vector<std::string>& f) {
  const std::string name = t.name;
  if (name == "documents") {
    return {crypto::hash_identifier(keys, version, "document", f[1]),
            crypto::hash_identifier(keys, version, "patient", f[0])};
  }
  if (name == "cache") return {crypto::hash_identifier(keys, version, "cache", cache_id(f[0], f[1])), std::nullopt};
  std::optional<IdHash> group;
  if (!f[1].empty()) group = crypto::hash_identifier(keys, version, name + ":group", f[1]);
  return {crypto::hash_identifier(keys, version, name + ":key", f[0]), group};
}

}  // namespace hiegate::daemon::store
