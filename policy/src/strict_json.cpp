#include "hiegate/policy/strict_json.hpp"

#include <set>
#include <string>
#include <vector>

namespace hiegate::policy {
namespace {

using json = nlohmann::json;

// Builds the value itself so that it sees every member name, which the
// library's own DOM builder would silently overwrite.
class StrictBuilder {
 public:
  explicit StrictBuilder(std::size_t max_depth) : max_depth_(max_depth) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(json::number_integer_t v) { return put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return put(json(v)); }
  bool number_float(json::number_float_t v, const std::string& /*text*/) { return put(json(v)); }
  bool string(std::string& v) { return put(json(std::move(v))); }
  bool binary(json::binary_t& /*v*/) { return fail("binary values are not JSON"); }

  bool start_object(std::size_t /*n*/) { return open(json::object()); }
  bool start_array(std::size_t /*n*/) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(std::string& k) {
    Frame& f = stack_.back();
    if (!f.keys.insert(k).second) return fail("duplicate member \"" + k + "\"");
    f.pending_key = std::move(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*token*/,
                   const nlohmann::detail::exception& e) {
    if (error_.empty()) error_ = "at byte " + std::to_string(position) + ": " + e.what();
    return false;
  }

  json take() { return std::move(root_); }
  const std::string& error() const { return error_; }

 private:
  struct Frame {
    json* value;
    std::set<std::string> keys;
    std::string pending_key;
  };

  bool fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }

  // Places `v` in the current container (or as the root) and returns where.
  json* place(json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Frame& f = stack_.back();
    if (f.value->is_array()) {
      f.value->push_back(std::move(v));
      return &f.value->back();
    }
    json& slot = (*f.value)[f.pending_key];
    slot = std::move(v);
    return &slot;
  }

  bool put(json v) {
    place(std::move(v));
    return true;
  }

  bool open(json container) {
    if (stack_.size() >= max_depth_)
      return fail("nesting deeper than " + std::to_string(max_depth_));
    json* where = place(std::move(container));
    stack_.push_back(Frame{where, {}, {}});
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  std::size_t max_depth_;
  json root_;
  std::vector<Frame> stack_;
  std::string error_;
};

}  // namespace

Result<nlohmann::json> parse_strict_json(std::string_view text, std::size_t max_depth) {
  // The library skips a UTF-8 byte order mark; a signed document must not have one.
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF) {
    return make_error("malformed", "byte order mark before JSON");
  }
  // The library's lexer takes a NUL byte for the end of input, which would let
  // anything after one through. A raw NUL is never valid JSON.
  if (text.find('\0') != std::string_view::npos) return make_error("malformed", "NUL byte in JSON");
  StrictBuilder builder(max_depth);
  bool ok = false;
  try {
    // strict = true: bytes after the value are an error. Comments stay errors.
    ok = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json,
                         /*strict=*/true, /*ignore_comments=*/false);
  } catch (const std::exception& e) {  // allocation failure and the like
    return make_error("malformed", std::string("JSON reader: ") + e.what());
  }
  if (!ok) {
    return make_error("malformed",
                      builder.error().empty() ? std::string("invalid JSON") : builder.error());
  }
  return builder.take();
}

}  // namespace hiegate::policy
