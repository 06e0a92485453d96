#include "deid_values.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace hiegate::policy::deid {
namespace {

using namespace std::chrono;

bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool digits_at(std::string_view s, std::size_t pos, std::size_t n) noexcept {
  if (pos + n > s.size()) return false;
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(pos), s.begin() + static_cast<std::ptrdiff_t>(pos + n), digit);
}

int number(std::string_view s, std::size_t pos, std::size_t n) noexcept {
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

/// `YYYY-MM-DD` at `pos`, as a valid calendar date.
std::optional<year_month_day> date_at(std::string_view s, std::size_t pos) noexcept {
  if (!digits_at(s, pos, 4) || pos + 10 > s.size() || s[pos + 4] != '-' || s[pos + 7] != '-' ||
      !digits_at(s, pos + 5, 2) || !digits_at(s, pos + 8, 2)) {
    return std::nullopt;
  }
  const year_month_day ymd{year{number(s, pos, 4)}, month{static_cast<unsigned>(number(s, pos + 5, 2))},
                           day{static_cast<unsigned>(number(s, pos + 8, 2))}};
  if (!ymd.ok()) return std::nullopt;
  return ymd;
}

std::optional<year_month_day> shifted(year_month_day d, days shift) {
  const year_month_day out{sys_days{d} + shift};
  if (out.year() < year{1} || out.year() > year{9999}) return std::nullopt;
  return out;
}

std::string format_date(year_month_day d, bool with_day) {
  char buf[16];
  if (with_day) {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                  static_cast<unsigned>(d.day()));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()));
  }
  return buf;
}

bool is_id(std::string_view s) noexcept {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '.';
  });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::string uuid_pseudonym(const crypto::Pseudonymizer& p, std::string_view key) {
  crypto::Pseudonym h = p.derive(key);
  h[6] = static_cast<std::uint8_t>((h[6] & 0x0F) | 0x40);  // version 4 layout
  h[8] = static_cast<std::uint8_t>((h[8] & 0x3F) | 0x80);  // RFC 4122 variant
  const std::string hex = crypto::to_hex(h);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

}  // namespace

bool shift_dates(std::string& s, days shift) {
  if (s.size() == 7 && digits_at(s, 0, 4) && s[4] == '-' && digits_at(s, 5, 2)) {
    const year_month_day mid{year{number(s, 0, 4)}, month{static_cast<unsigned>(number(s, 5, 2))}, day{15}};
    if (!mid.ok()) return true;  // not a date
    const auto out = shifted(mid, shift);
    if (!out) return false;
    s = format_date(*out, false);
    return true;
  }
  for (std::size_t i = 0; i + 10 <= s.size(); ++i) {
    if ((i > 0 && digit(s[i - 1])) || (i + 10 < s.size() && digit(s[i + 10]))) continue;
    const auto d = date_at(s, i);
    if (!d) continue;
    const auto out = shifted(*d, shift);
    if (!out) return false;
    s.replace(i, 10, format_date(*out, true));
    i += 9;
  }
  return true;
}

std::optional<std::string> birth_year(std::string_view s) {
  if (s.size() < 4 || !digits_at(s, 0, 4) || (s.size() > 4 && s[4] != '-')) return std::nullopt;
  return std::string(s.substr(0, 4));
}

std::string id_pseudonym(const crypto::Pseudonymizer& p, std::string_view key) {
  return crypto::to_hex(p.derive(key));
}

std::optional<std::string> rekey_reference(const crypto::Pseudonymizer& p, std::string_view ref) {
  if (ref.empty() || ref.find('?') != std::string_view::npos) return std::nullopt;
  if (ref.front() == '#') {
    if (ref.size() == 1) return std::string(ref);  // the containing resource
    return is_id(ref.substr(1)) ? std::optional("#" + id_pseudonym(p, ref)) : std::nullopt;
  }
  if (ref.starts_with("urn:uuid:") || ref.starts_with("urn:oid:")) {
    return "urn:uuid:" + uuid_pseudonym(p, ref);
  }
  const bool absolute = ref.find("://") != std::string_view::npos;
  std::vector<std::string_view> seg = split(ref, '/');
  if (seg.size() >= 4 && seg[seg.size() - 2] == "_history") seg.resize(seg.size() - 2);
  if (seg.size() < 2 || (!absolute && seg.size() != 2)) return std::nullopt;
  const std::string_view type = seg[seg.size() - 2], id = seg.back();
  if (!is_resource_type(type) || !is_id(id)) return std::nullopt;
  const std::string key = std::string(type) + "/" + std::string(id);
  std::string out = std::string(type) + "/" + id_pseudonym(p, key);
  return absolute ? std::string(kNeutralBase) + out : out;
}

bool is_element_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64 || digit(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  });
}

bool is_resource_type(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64 || s[0] < 'A' || s[0] > 'Z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); });
}

}  // namespace hiegate::policy::deid
