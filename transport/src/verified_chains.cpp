#include "verified_chains.hpp"

#include <botan/hash.h>

namespace hiegate::transport::detail {

std::string VerifiedChains::key(const std::vector<Botan::X509_Certificate>& chain, int usage) {
  auto h = Botan::HashFunction::create_or_throw("SHA-256");
  const auto put_u32 = [&h](std::size_t v) {
    const uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
                          static_cast<uint8_t>(v)};
    h->update(b, sizeof b);
  };
  put_u32(static_cast<std::size_t>(usage));
  put_u32(chain.size());
  for (const auto& cert : chain) {
    const auto der = cert.BER_encode();
    put_u32(der.size());
    h->update(der);
  }
  const auto d = h->final();
  return std::string(d.begin(), d.end());
}

std::optional<VerifiedChains::Entry> VerifiedChains::find(const std::string& key) const {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void VerifiedChains::insert(const std::string& key, Entry entry) {
  std::lock_guard lock(mu_);
  if (capacity_ == 0) return;
  if (!entries_.insert_or_assign(key, std::move(entry)).second) return;  // refreshed in place
  order_.push_back(key);
  while (order_.size() > capacity_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

std::size_t VerifiedChains::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace hiegate::transport::detail
