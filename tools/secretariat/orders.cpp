// orders new|add|remove: the complete set of active orders, edited as a body
// file before the orders officers sign it. Every edit re-reads the file
// through the gateway's parser and writes only a body that parser accepts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "hiegate/policy/directive_bodies.hpp"
#include "secretariat/cmd_util.hpp"
#include "secretariat/directive_cmds.hpp"
#include "secretariat/documents.hpp"

namespace hiegate::tools {
namespace {

using namespace secretariat;

constexpr const char* kUsage =
    "usage: hiegate-secretariat orders new --network ID --keyset-version N\n"
    "         [--from CURRENT_BODY | --sequence N] --out BODY\n"
    "       hiegate-secretariat orders add ACTION --id ID --audience '*'|CODE,...\n"
    "         --reason R [--not-before T] [--not-after T] [--message-ja S --message-en S]\n"
    "         [--allow F,...] [--user FACILITY/USER] [--facility CODE] [--purge-before T] BODY\n"
    "       hiegate-secretariat orders remove ID BODY\n"
    "ACTION: stop restrict disaster suspend-user suspend-facility purge-cache\n"
    "R: failure maintenance equipment data-recovery management disaster violation\n"
    "T: RFC 3339 UTC, e.g. 2026-11-22T01:00:00Z\n";

policy::Time now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

/// "suspend-user" and "suspend_user" alike.
std::string underscored(std::string s) {
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

template <class E, std::size_t N>
std::optional<E> lookup(const std::string& s, const E (&all)[N]) {
  for (E e : all)
    if (policy::name(e) == underscored(s)) return e;
  return std::nullopt;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = s.find(',', start);
    out.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

Result<policy::Time> time_option(const Args& args, const char* name) {
  const auto v = args.get(name);
  const auto t = v ? policy::parse_rfc3339(*v) : std::nullopt;
  if (!t) return make_error("usage", "--" + std::string(name) + " must be like 2026-11-22T01:00:00Z");
  return *t;
}

/// The order described by the options; the body parser checks the rest.
Result<policy::Order> order_from(const std::string& action, const Args& args) {
  using policy::Action;
  using policy::OrderReason;
  static constexpr Action kActions[] = {Action::stop,         Action::restrict,
                                        Action::disaster,     Action::suspend_user,
                                        Action::suspend_facility, Action::purge_cache};
  static constexpr OrderReason kReasons[] = {
      OrderReason::failure,    OrderReason::maintenance, OrderReason::equipment,
      OrderReason::data_recovery, OrderReason::management, OrderReason::disaster,
      OrderReason::violation};
  policy::Order o;
  const auto a = lookup(action, kActions);
  if (!a) return make_error("usage", "unknown action " + action);
  o.action = *a;
  if (!args.get("id") || !args.get("audience") || !args.get("reason"))
    return make_error("usage", "--id, --audience and --reason are required");
  o.id = *args.get("id");
  const auto r = lookup(*args.get("reason"), kReasons);
  if (!r) return make_error("usage", "unknown reason " + *args.get("reason"));
  o.reason = *r;
  if (*args.get("audience") == "*") {
    o.audience_all = true;
  } else {
    o.audience = split_commas(*args.get("audience"));
  }
  for (auto [name, slot] : {std::pair{"not-before", &o.not_before},
                            std::pair{"not-after", &o.not_after},
                            std::pair{"purge-before", &o.purge_before}}) {
    if (!args.get(name)) continue;
    auto t = time_option(args, name);
    if (!t) return std::move(t).error();
    *slot = *t;
  }
  const auto ja = args.get("message-ja"), en = args.get("message-en");
  if (ja.has_value() != en.has_value())
    return make_error("usage", "--message-ja and --message-en go together");
  if (ja) o.message = policy::BilingualMessage{*ja, *en};
  if (const auto allow = args.get("allow")) {
    for (const auto& f : split_commas(*allow)) {
      const auto fn = policy::parse_function(f);
      if (!fn) return make_error("usage", "unknown function " + f);
      o.allow.insert(*fn);
    }
  }
  o.user = args.get("user").value_or("");
  o.facility = args.get("facility").value_or("");
  return o;
}

int write_orders(const std::string& path, const policy::OrderSet& set) {
  auto body = orders_body(set);
  if (!body) return refused(body.error());
  if (auto w = write_file_atomic(path, *body); !w) return refused(w.error());
  std::printf("orders sequence %llu with %zu order(s) written to %s\n",
              static_cast<unsigned long long>(set.sequence), set.orders.size(), path.c_str());
  return 0;
}

Result<policy::OrderSet> read_orders(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::move(text).error();
  return policy::parse_orders_body(*text);
}

int orders_new(const Args& args) {
  std::string err;
  const auto kv = count_option(args, "keyset-version", err);
  const auto network = args.get("network");
  if (!kv || !network || !args.get("out") || !args.positional().empty() ||
      (args.get("from") && args.get("sequence")))
    return usage_error(kUsage, err);
  policy::OrderSet set;
  set.sequence = 1;
  if (const auto from = args.get("from")) {
    auto current = read_orders(*from);
    if (!current) return refused(current.error());
    if (current->network != *network)
      return refused(make_error("wrong_network", *from + " is of network " + current->network));
    set = std::move(*current);
    set.sequence += 1;
  } else if (args.get("sequence")) {
    const auto seq = count_option(args, "sequence", err);
    if (!seq) return usage_error(kUsage, err);
    set.sequence = *seq;
  }
  set.network = *network;
  set.keyset_version = *kv;
  set.issued_at = now();
  return write_orders(*args.get("out"), set);
}

}  // namespace

int orders_main(int argc, char** argv) {
  if (argc < 2) return usage_error(kUsage);
  const std::string cmd = argv[1];
  Args args(argc - 1, argv + 1,
            {"network", "keyset-version", "from", "sequence", "out", "id", "audience", "reason",
             "not-before", "not-after", "message-ja", "message-en", "allow", "user", "facility",
             "purge-before"});
  if (!args.ok()) return usage_error(kUsage, args.error());
  if (cmd == "new") return orders_new(args);
  const auto& pos = args.positional();
  if ((cmd != "add" && cmd != "remove") || pos.size() != 2) return usage_error(kUsage);
  const std::string& path = pos[1];
  auto set = read_orders(path);
  if (!set) return refused(set.error());
  if (cmd == "add") {
    auto order = order_from(pos[0], args);
    if (!order) {
      if (order.error().code == "usage") return usage_error(kUsage, order.error().message);
      return refused(order.error());
    }
    set->orders.push_back(std::move(*order));
  } else {
    const auto it = std::find_if(set->orders.begin(), set->orders.end(),
                                 [&](const policy::Order& o) { return o.id == pos[0]; });
    if (it == set->orders.end()) return refused(make_error("not_found", "no order " + pos[0]));
    set->orders.erase(it);
  }
  return write_orders(path, *set);
}

}  // namespace hiegate::tools
