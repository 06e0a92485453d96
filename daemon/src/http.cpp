#include "hiegate/daemon/http.hpp"

#include <nlohmann/json.hpp>

namespace hiegate::daemon {

std::string_view ApiRequest::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string> ApiRequest::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    const auto eq = pair.find('=');
    std::string key;
    if (percent_decode(pair.substr(0, eq), key) && key == name) {
      std::string value;
      if (eq == std::string_view::npos) return std::string();
      if (percent_decode(pair.substr(eq + 1), value)) return value;
      return std::nullopt;
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

void Keep::add(std::shared_ptr<const void> held) {
  if (!held) return;
  std::lock_guard lk(mu_);
  held_.push_back(std::move(held));
}

Responder::~Responder() {
  if (sink_) {
    (*sink_)(error_response(http::status::internal_server_error, "internal_error", "the request was not answered"),
             nullptr);
  }
}

void Responder::send(HttpResponse res, std::shared_ptr<transport::BodyStream> body) {
  if (!sink_) return;
  auto sink = std::move(sink_);
  (*sink)(std::move(res), std::move(body));
}

namespace {
void common_headers(HttpResponse& res) {
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
}
}  // namespace

HttpResponse text_response(http::status status, std::string body, std::string_view content_type) {
  HttpResponse res{status, 11};
  res.set(http::field::content_type, content_type);
  common_headers(res);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse json_response(http::status status, const nlohmann::json& body) {
  return text_response(status, json_text(body) + "\n",
                       "application/json; charset=utf-8");
}

HttpResponse error_response(http::status status, std::string_view code, std::string_view message) {
  return error_response(status, code, message, nlohmann::json::object());
}

HttpResponse error_response(http::status status, std::string_view code, std::string_view message,
                            const nlohmann::json& extra) {
  nlohmann::json err = {{"code", code}, {"message", message}};
  for (const auto& [k, v] : extra.items()) err[k] = v;
  return json_response(status, {{"error", err}});
}

HttpResponse memory_full_response() {
  auto res = error_response(http::status::service_unavailable, "overloaded",
                            "the gateway holds as many documents in memory as it may; try again shortly");
  res.set(http::field::retry_after, "1");
  return res;
}

HttpResponse body_read_error(const Error& e) {
  if (e.code == "payload_too_large") {
    return error_response(http::status::payload_too_large, e.code, "the request body is larger than allowed");
  }
  if (e.code == "request_timeout") {
    return error_response(http::status::request_timeout, e.code, "the request was not received in time");
  }
  return error_response(http::status::bad_request, "bad_request", "the request body could not be read: " + e.message);
}

void Router::add(http::verb method, std::string pattern, Handler h, bool authenticated) {
  routes_.push_back(Route{method, std::move(pattern), authenticated, std::move(h)});
}

void Router::add_streamed(http::verb method, std::string pattern, Handler h) {
  routes_.push_back(Route{method, std::move(pattern), true, std::move(h), true});
}

void Router::add_all(const Router& other, const std::function<Handler(const Route&)>& wrap) {
  for (const Route& r : other.routes_) {
    routes_.push_back(Route{r.method, r.pattern, r.authenticated, wrap(r), r.streams_raw});
  }
}

bool percent_decode(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return false;
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      const int hi = hex(s[i + 1]);
      const int lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return false;
      i += 2;
    }
    out += c;
  }
  return true;
}

Router::Match Router::match(http::verb method, std::string_view path) const {
  Match m;
  // Split once; compare segment by segment.
  std::vector<std::string_view> segs;
  if (path.empty() || path.front() != '/') return m;
  for (std::size_t pos = 1;;) {
    const auto next = path.find('/', pos);
    segs.push_back(path.substr(pos, next == std::string_view::npos ? next : next - pos));
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  for (const Route& r : routes_) {
    std::vector<std::pair<std::string, std::string>> params;
    std::string_view pat = r.pattern;
    std::size_t i = 0;
    bool ok = true;
    for (std::size_t pos = 1; ok;) {
      const auto next = pat.find('/', pos);
      const std::string_view ps =
          pat.substr(pos, next == std::string_view::npos ? next : next - pos);
      if (i >= segs.size()) {
        ok = false;
        break;
      }
      if (ps.size() > 2 && ps.front() == '{' && ps.back() == '}') {
        std::string decoded;
        if (segs[i].empty() || !percent_decode(segs[i], decoded)) {
          ok = false;
          break;
        }
        params.emplace_back(std::string(ps.substr(1, ps.size() - 2)), std::move(decoded));
      } else if (ps != segs[i]) {
        ok = false;
        break;
      }
      ++i;
      if (next == std::string_view::npos) break;
      pos = next + 1;
    }
    if (!ok || i != segs.size()) continue;
    m.path_known = true;
    if (r.method == method) {
      m.route = &r;
      m.params = std::move(params);
      return m;
    }
  }
  return m;
}

}  // namespace hiegate::daemon
