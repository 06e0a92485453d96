#include "hiegatectl/admin.hpp"

#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include "hiegatectl/online.hpp"

namespace hiegate::tools {

using nlohmann::json;

namespace {

/// Runs `act` with the connection when the arguments parse and a token is
/// found; otherwise prints `usage` (or the reason) and returns 2.
template <class Act>
int online(const Args& args, const char* usage, std::size_t positionals, Act act) {
  if (!args.ok() || args.positional().size() != positionals || args.flag("help")) {
    std::cerr << (args.ok() ? "" : "hiegatectl: " + args.error() + "\n") << usage << kOnlineOptions;
    return args.flag("help") ? 0 : 2;
  }
  auto conn = Online::from(args);
  if (!conn) return 1;
  return act(*conn);
}

/// Prints `j` as the daemon gave it (--json), or `human` of it.
template <class Human>
int show(const Args& args, const json& j, Human human) {
  if (args.flag("json")) {
    std::cout << j.dump(2) << "\n";
  } else {
    human(j);
  }
  return 0;
}

std::string text(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "-";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

bool require_segment(const std::string& id, const char* what) {
  if (is_path_segment(id)) return true;
  std::cerr << "hiegatectl: not a valid " << what << ": " << id << "\n";
  return false;
}

void print_user(const json& u) {
  // The department last: its width in columns is not its length in bytes.
  std::printf("%-24s %-11s %-8s %s%s\n", text(u, "id").c_str(), text(u, "role").c_str(),
              u.value("active", false) ? "active" : "inactive", text(u, "department").c_str(),
              u.value("suspended", false) ? " (suspended by an order)" : "");
}

constexpr const char* kUsersUsage =
    "usage: hiegatectl users list --as ADMIN\n"
    "       hiegatectl users show ID\n"
    "       hiegatectl users set ID --role ROLE [--department TEXT] [--inactive] --as ADMIN\n"
    "       hiegatectl users remove ID --as ADMIN\n"
    "  ROLE: physician, nurse, pharmacist, technician, clerk, approver or admin.\n"
    "  --as names the administrator making the change (X-HIE-User); on a new\n"
    "  gateway the first admin registers itself: users set ID --role admin --as ID.\n";

}  // namespace

int users_main(int argc, char** argv) {
  const std::string sub = argc > 1 ? argv[1] : "";
  Args args(argc - 1, argv + 1, {"socket", "token-file", "as", "role", "department"}, {"help", "json", "inactive"});
  if (sub == "list") {
    return online(args, kUsersUsage, 0, [&](const Online& c) {
      json j;
      if (const int rc = c.call("GET", "/v1/users", nullptr, j); rc != 0) return rc;
      return show(args, j, [](const json& all) {
        for (const auto& u : all["users"]) print_user(u);
      });
    });
  }
  if (sub == "show" || sub == "remove") {
    return online(args, kUsersUsage, 1, [&](const Online& c) {
      const auto& id = args.positional()[0];
      if (!require_segment(id, "user id")) return 2;
      json j;
      if (const int rc = c.call(sub == "show" ? "GET" : "DELETE", "/v1/users/" + id, nullptr, j); rc != 0) return rc;
      return show(args, j, [&](const json& u) {
        if (sub == "show") return print_user(u);
        std::printf("removed %s\n", id.c_str());
      });
    });
  }
  if (sub == "set") {
    return online(args, kUsersUsage, 1, [&](const Online& c) {
      const auto& id = args.positional()[0];
      if (!require_segment(id, "user id")) return 2;
      const auto role = args.get("role");
      if (!role) return std::fputs("hiegatectl: users set needs --role\n", stderr), 2;
      json body = {{"role", *role}, {"active", !args.flag("inactive")}};
      if (auto d = args.get("department")) body["department"] = *d;
      json j;
      if (const int rc = c.call("PUT", "/v1/users/" + id, &body, j); rc != 0) return rc;
      return show(args, j, print_user);
    });
  }
  std::cerr << kUsersUsage << kOnlineOptions;
  return sub == "--help" ? 0 : 2;
}

namespace {

constexpr const char* kConsentsUsage =
    "usage: hiegatectl consents show PATIENT --as USER\n"
    "       hiegatectl consents register PATIENT --signed-on YYYY-MM-DD --form-ref REF\n"
    "         [--scope '*'|CODE,CODE...] --as USER\n"
    "       hiegatectl consents withdraw PATIENT --as USER\n"
    "       hiegatectl consents expiring [--within 60d] --as USER\n"
    "  --scope: every participating facility ('*', the default) or a list of\n"
    "  facility codes. A withdrawal is effective at once; the record stays.\n"
    "  --as names the registered user reading or recording (X-HIE-User; audited).\n";

void print_consent(const json& c) {
  std::string scope = c.contains("scope") && c["scope"].is_array() ? "" : text(c, "scope");
  if (scope.empty()) {
    for (const auto& f : c["scope"]) scope += (scope.empty() ? "" : ",") + f.get<std::string>();
  }
  std::printf("%-20s signed %s, expires %s, scope %s, form %s", text(c, "patient").c_str(),
              text(c, "signed_on").c_str(), text(c, "expires_on").c_str(), scope.c_str(), text(c, "form_ref").c_str());
  if (c.contains("withdrawn_at")) std::printf(", WITHDRAWN %s", text(c, "withdrawn_at").c_str());
  if (c.value("expired", false)) std::printf(", EXPIRED");
  std::printf("\n");
}

}  // namespace

int consents_main(int argc, char** argv) {
  const std::string sub = argc > 1 ? argv[1] : "";
  Args args(argc - 1, argv + 1, {"socket", "token-file", "as", "signed-on", "form-ref", "scope", "within"},
            {"help", "json"});
  if (sub == "expiring") {
    return online(args, kConsentsUsage, 0, [&](const Online& c) {
      const std::string within = args.get("within").value_or("60d");
      if (!is_path_segment(within)) return std::fputs("hiegatectl: --within is a duration such as 60d\n", stderr), 2;
      json j;
      if (const int rc = c.call("GET", "/v1/consents?expiring_within=" + within, nullptr, j); rc != 0) return rc;
      return show(args, j, [](const json& all) {
        for (const auto& item : all["consents"]) print_consent(item);
      });
    });
  }
  if (sub == "show" || sub == "withdraw" || sub == "register") {
    return online(args, kConsentsUsage, 1, [&](const Online& c) {
      const auto& patient = args.positional()[0];
      if (!require_segment(patient, "patient id")) return 2;
      json j;
      int rc = 0;
      if (sub == "register") {
        const auto signed_on = args.get("signed-on");
        const auto form_ref = args.get("form-ref");
        if (!signed_on || !form_ref) {
          return std::fputs("hiegatectl: consents register needs --signed-on and --form-ref\n", stderr), 2;
        }
        json scope = "*";
        if (const auto s = args.get("scope"); s && *s != "*") {
          scope = json::array();
          for (std::size_t p = 0; p <= s->size();) {
            const auto comma = std::min(s->find(',', p), s->size());
            if (comma > p) scope.push_back(s->substr(p, comma - p));
            p = comma + 1;
          }
        }
        json body = {{"signed_on", *signed_on}, {"scope", scope}, {"form_ref", *form_ref}};
        rc = c.call("PUT", "/v1/consents/" + patient, &body, j);
      } else {
        rc = c.call(sub == "show" ? "GET" : "DELETE", "/v1/consents/" + patient, nullptr, j);
      }
      if (rc != 0) return rc;
      if (!j.contains("patient")) j["patient"] = patient;
      return show(args, j, print_consent);
    });
  }
  std::cerr << kConsentsUsage << kOnlineOptions;
  return sub == "--help" ? 0 : 2;
}

int cache_main(int argc, char** argv) {
  constexpr const char* kUsage =
      "usage: hiegatectl cache purge [--expired-only] --as ADMIN\n"
      "  Destroys the cached copies of other facilities' documents (all, or\n"
      "  those past their TTL), audited under the administrator --as names.\n";
  const std::string sub = argc > 1 ? argv[1] : "";
  Args args(argc - 1, argv + 1, {"socket", "token-file", "as"}, {"help", "json", "expired-only"});
  if (sub != "purge") {
    std::cerr << kUsage << kOnlineOptions;
    return sub == "--help" ? 0 : 2;
  }
  return online(args, kUsage, 0, [&](const Online& c) {
    json body = {{"expired_only", args.flag("expired-only")}};
    json j;
    if (const int rc = c.call("POST", "/v1/cache/purge", &body, j); rc != 0) return rc;
    return show(args, j, [](const json& r) {
      std::printf("%s cached documents destroyed\n", text(r, "purged").c_str());
    });
  });
}

}  // namespace hiegate::tools
