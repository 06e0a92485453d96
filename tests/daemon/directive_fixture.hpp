// Test helper: a DirectiveService over a fresh store in `dir`, anchored on
// the kit's keyset version 1 (so in failsafe until orders arrive).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>

#include "hiegate/daemon/directive_service.hpp"
#include "policy/directive_kit.hpp"

namespace hiegate::daemon::testing {

/// The facility the directive tests run as.
inline constexpr const char* kUs = "1312345678";

inline DirectiveService make_directive_service(const std::filesystem::path& dir,
                                               const policy::testing::DirectiveKit& kit,
                                               const policy::VerifierOptions& verifier) {
  auto store = DirectiveStore::open(dir / "directives");
  EXPECT_TRUE(store.ok());
  auto startup = start_directives(*store, kit.keyset(1), verifier);
  EXPECT_TRUE(startup.ok());
  return DirectiveService(std::move(*store), std::move(*startup), verifier, {});
}

}  // namespace hiegate::daemon::testing
