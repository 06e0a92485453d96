// Botan side of TlsContext; private to transport. All members are thread-safe
// (System_RNG, the in-memory session manager has its own mutex, the policy is
// immutable).
#pragma once

#include <botan/system_rng.h>
#include <botan/tls_session_manager.h>

#include "hiegate/transport/tls.hpp"
#include "tls_policy.hpp"

namespace hiegate::transport {

struct TlsContext::Impl {
  Impl(std::shared_ptr<CredentialStore> s, TlsSettings st, std::size_t max_chain_bytes)
      : store(std::move(s)),
        settings(std::move(st)),
        policy(max_chain_bytes),
        sessions(rng, settings.session_cache_size, settings.session_lifetime) {}

  SystemTime now() const { return settings.clock ? settings.clock() : std::chrono::system_clock::now(); }

  std::shared_ptr<CredentialStore> store;
  TlsSettings settings;
  Botan::System_RNG rng;
  detail::StrictPolicy policy;
  Botan::TLS::Session_Manager_In_Memory sessions;
};

}  // namespace hiegate::transport
