#include "hiegate/policy/watermark.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace hiegate::policy {
namespace {

void append_clean(std::string& out, std::string_view value) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += "\xEF\xBF\xBD";  // U+FFFD
    } else {
      out += c;
    }
  }
}

}  // namespace

Result<WatermarkTemplate> WatermarkTemplate::compile(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, Part>, 6> kNames = {{
      {"facility", Part::facility}, {"user", Part::user}, {"time", Part::time},
      {"ticket", Part::ticket}, {"kind", Part::kind}, {"delete_by", Part::delete_by}}};
  WatermarkTemplate t;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.pieces_.push_back({Part::literal, std::move(literal)});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal += '}';
        ++i;
        continue;
      }
      return make_error("config_invalid", "lone '}' at offset " + std::to_string(i) + " (write '}}')");
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      ++i;
      continue;
    }
    const std::size_t close = text.find('}', i + 1);
    if (close == std::string_view::npos) {
      return make_error("config_invalid", "unclosed '{' at offset " + std::to_string(i));
    }
    const std::string_view key = text.substr(i + 1, close - i - 1);
    const auto* hit = std::find_if(kNames.begin(), kNames.end(), [&](const auto& n) { return n.first == key; });
    if (hit == kNames.end()) {
      return make_error("config_invalid", "unknown placeholder {" + std::string(key) +
                                              "} (known: facility user time ticket kind delete_by)");
    }
    flush();
    t.pieces_.push_back({hit->second, {}});
    i = close;
  }
  flush();
  return t;
}

std::string WatermarkTemplate::render(const WatermarkFields& f) const {
  std::string out;
  for (const Piece& p : pieces_) {
    switch (p.part) {
      case Part::literal: out += p.text; break;
      case Part::facility: append_clean(out, f.facility); break;
      case Part::user: append_clean(out, f.user); break;
      case Part::time: append_clean(out, f.time); break;
      case Part::ticket: append_clean(out, f.ticket); break;
      case Part::kind: append_clean(out, f.kind); break;
      case Part::delete_by: append_clean(out, f.delete_by); break;
    }
  }
  return out;
}

}  // namespace hiegate::policy
