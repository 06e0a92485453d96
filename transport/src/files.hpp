// Small file helpers for transport: bounded reads, atomic writes with a mode.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "hiegate/common/result.hpp"

namespace hiegate::transport::detail {

/// Reads at most `max_bytes`; larger files are an error (file_too_large).
[[nodiscard]] Result<std::string> read_text(const std::filesystem::path& p,
                                            std::size_t max_bytes = 1 << 20);

/// Writes via a temporary file in the same directory, fsync, rename. The
/// file is created with `mode` (never wider). `exclusive`: fail if it exists.
[[nodiscard]] Status write_file(const std::filesystem::path& p, std::string_view content,
                                unsigned mode, bool exclusive = false);

}  // namespace hiegate::transport::detail
