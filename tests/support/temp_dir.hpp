// A private temporary directory, removed with everything in it on destruction.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace hiegate::test {

class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

  /// Writes `content` to `name` (relative to the dir) with `mode`; returns the path.
  std::filesystem::path write(std::string_view name, std::string_view content, unsigned mode = 0600) const;

private:
  std::filesystem::path path_;
};

/// Reads a whole file; throws on error.
std::string read_file(const std::filesystem::path& p);

}  // namespace hiegate::test
