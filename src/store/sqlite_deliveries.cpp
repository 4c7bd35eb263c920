// Delivery queues in the SQLite store (skeleton; being implemented).
#include "store/internal/sqlite_store.h"

namespace junction::store::internal {
namespace {
Status Todo() { return Status::Invalid("store: delivery queues are not implemented yet"); }
}  // namespace

Status SqliteStore::RecordProcessing(ProcessingOutcome, std::function<void(Result<std::vector<DeliveryId>>)>) { return Todo(); }
Status SqliteStore::UpdateDelivery(DeliveryUpdate, StatusCallback) { return Todo(); }
Status SqliteStore::AddDelivery(MessageId, NewDelivery, std::function<void(Result<DeliveryId>)>) { return Todo(); }
Status SqliteStore::ResetForReprocess(MessageId, StatusCallback) { return Todo(); }
Status SqliteStore::Prune(PruneRequest, std::function<void(Result<std::size_t>)>) { return Todo(); }
Result<std::vector<MessageRecord>> SqliteStore::ListForProcessing(const std::string&, MessageId, std::size_t) { return Todo(); }
Result<std::vector<DeliveryRecord>> SqliteStore::ListQueued(const QueueQuery&) { return Todo(); }
Result<std::vector<DeliveryRecord>> SqliteStore::ListDeliveries(MessageId) { return Todo(); }
Result<StatusReport> SqliteStore::Report() { return Todo(); }
std::int64_t SqliteStore::SizeBytes() const { return 0; }

}  // namespace junction::store::internal
