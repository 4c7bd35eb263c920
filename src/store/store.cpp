#include "junction/store/store.h"

#include <array>
#include <future>
#include <memory>
#include <utility>

#include "store/internal/schema.h"
#include "store/internal/sqlite_store.h"

namespace junction::store {
namespace {

constexpr std::array<std::string_view, 7> kStateNames = {
    "received", "filtered", "transformed", "queued", "sent", "error", "processed",
};

}  // namespace

std::string_view MessageStateName(MessageState state) {
  auto index = static_cast<std::size_t>(state);
  return index < kStateNames.size() ? kStateNames[index] : std::string_view("unknown");
}

std::optional<MessageState> ParseMessageState(std::string_view name) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<MessageState>(i);
  }
  return std::nullopt;
}

int CurrentSchemaVersion() { return internal::SchemaVersion(); }

// SQLite is the only backend so far; a PostgreSQL one would be chosen here.
Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  return internal::SqliteStore::Open(options);
}

Result<AppendResult> Store::AppendAndWait(IncomingMessage message) {
  if (OnWriterThread()) return Status::Invalid("store: AppendAndWait called from a store callback");
  auto promise = std::make_shared<std::promise<Result<AppendResult>>>();
  std::future<Result<AppendResult>> future = promise->get_future();
  Status queued = Append(std::move(message), [promise](Result<AppendResult> r) {
    promise->set_value(std::move(r));
  });
  if (!queued.ok()) return queued;
  return future.get();
}

Status Store::UpdateStatusAndWait(MessageId id, MessageState state, std::string error) {
  if (OnWriterThread()) {
    return Status::Invalid("store: UpdateStatusAndWait called from a store callback");
  }
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  Status queued = UpdateStatus(id, state, std::move(error),
                               [promise](Status s) { promise->set_value(std::move(s)); });
  if (!queued.ok()) return queued;
  return future.get();
}

}  // namespace junction::store
