#include "store/internal/rows.h"

#include <chrono>
#include <optional>

namespace junction::store::internal {

std::int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void TruncateUtf8(std::string& text, std::size_t max) {
  if (text.size() <= max) return;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
}

Result<MessageRecord> ReadRow(const Stmt& stmt) {
  MessageRecord r;
  r.id = stmt.ColumnInt64(0);
  r.received_at_us = stmt.ColumnInt64(1);
  r.updated_at_us = stmt.ColumnInt64(2);
  r.channel = stmt.ColumnText(3);
  r.peer = stmt.ColumnText(4);
  r.control_id = stmt.ColumnText(5);
  r.message_type = stmt.ColumnText(6);
  r.trigger_event = stmt.ColumnText(7);
  r.message_structure = stmt.ColumnText(8);
  r.version = stmt.ColumnText(9);
  r.sending_application = stmt.ColumnText(10);
  r.sending_facility = stmt.ColumnText(11);
  r.receiving_application = stmt.ColumnText(12);
  r.receiving_facility = stmt.ColumnText(13);
  r.patient_id = stmt.ColumnText(14);
  r.size = stmt.ColumnInt64(15);
  std::optional<MessageState> state = ParseMessageState(stmt.ColumnText(16));
  if (!state) return Status::Invalid("message " + std::to_string(r.id) + " has an unknown status");
  r.state = *state;
  r.error = stmt.ColumnText(17);
  r.has_transformed = sqlite3_column_type(stmt.get(), 18) != SQLITE_NULL;
  if (r.has_transformed) r.transformed = stmt.ColumnBlob(18);
  r.raw = stmt.ColumnBlob(19);
  return r;
}

}  // namespace junction::store::internal
