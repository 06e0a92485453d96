// Approvals and export tickets as the daemon stores them (sealed, in
// RecordTable::exports), and the in-memory ledger of open deletion deadlines.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/policy/approvals.hpp"
#include "hiegate/policy/exports.hpp"

namespace hiegate::daemon {

inline constexpr const char* kApprovalGroup = "approvals";
inline constexpr const char* kTicketGroup = "tickets";
[[nodiscard]] inline std::string approval_key(const std::string& id) { return "approval/" + id; }
[[nodiscard]] inline std::string ticket_key(const std::string& id) { return "ticket/" + id; }

/// One allowed export, recorded before its content is handed out.
struct ExportTicket {
  std::string id;
  std::string user;  ///< `<facility>/<local id>` of the exporter
  std::string patient;
  std::vector<policy::ExportDocument> documents;
  policy::ExportKind kind = policy::ExportKind::print;
  std::string purpose;
  std::string approval;           ///< approval relied on, or empty
  std::string third_party_basis;  ///< "consent", a LegalBasis name, or empty
  std::string recipient;
  std::string justification;
  std::string consent_ref;  ///< the patient's written consent to the provision
  std::string watermark;
  policy::Time created_at{};
  policy::Time delete_by{};
  std::optional<policy::Time> deleted_at;
  std::string deleted_by;

  [[nodiscard]] bool overdue(policy::Time now) const { return !deleted_at && delete_by <= now; }
};

[[nodiscard]] nlohmann::json ticket_to_json(const ExportTicket& t);
/// Errors: record_malformed.
[[nodiscard]] Result<ExportTicket> ticket_from_json(const nlohmann::json& j);

[[nodiscard]] nlohmann::json approval_to_json(const policy::Approval& a);
/// Errors: record_malformed.
[[nodiscard]] Result<policy::Approval> approval_from_json(const nlohmann::json& j);

/// Deletion deadlines of unconfirmed tickets, and which users have an export
/// under way. Thread-safe; all operations are O(log n) except overdue(),
/// which is O(log n + overdue).
class ExportLedger {
public:
  void track(const std::string& ticket, policy::Time delete_by);
  void confirmed(const std::string& ticket);
  [[nodiscard]] std::size_t overdue(policy::Time now) const;

  /// One export at a time per user, so the quota count read from the store
  /// cannot be raced by the same user's parallel request. False: busy.
  [[nodiscard]] bool try_begin(const std::string& user);
  void end(const std::string& user);

private:
  mutable std::mutex mu_;
  std::map<std::string, policy::Time> open_;     // ticket -> delete_by
  std::multiset<policy::Time> deadlines_;         // the values of open_
  std::set<std::string> busy_;
};

/// Holds a user's ExportLedger slot until release() or destruction.
class ExportSlot {
public:
  ExportSlot(ExportLedger& ledger, std::string user) : ledger_(&ledger), user_(std::move(user)) {}
  ~ExportSlot() { release(); }
  ExportSlot(const ExportSlot&) = delete;
  ExportSlot& operator=(const ExportSlot&) = delete;
  void release() {
    if (ledger_ != nullptr) ledger_->end(user_);
    ledger_ = nullptr;
  }

private:
  ExportLedger* ledger_;
  std::string user_;
};

}  // namespace hiegate::daemon
