#include "junction/store/store.h"

#include <array>
#include <future>
#include <memory>
#include <mutex>
#include <utility>

#include "store/internal/schema.h"
#include "store/internal/sqlite_store.h"

namespace junction::store {
namespace {

constexpr std::array<std::string_view, 7> kStateNames = {
    "received", "filtered", "transformed", "queued", "sent", "error", "processed",
};
constexpr std::array<std::string_view, 4> kDeliveryStateNames = {
    "queued",
    "sent",
    "error",
    "filtered",
};

// Runs `start(done)` (one of the asynchronous writer calls) and waits for its
// callback. `what` names the call for the error raised on the writer thread.
template <typename T, typename Start>
T WaitFor(bool on_writer_thread, const char* what, Start start) {
  if (on_writer_thread) {
    return Status::Invalid(std::string("store: ") + what + " called from a store callback");
  }
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> future = promise->get_future();
  Status queued = start([promise](T r) { promise->set_value(std::move(r)); });
  if (!queued.ok()) return queued;
  return future.get();
}

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

std::string_view DeliveryStateName(DeliveryState state) {
  auto index = static_cast<std::size_t>(state);
  return index < kDeliveryStateNames.size() ? kDeliveryStateNames[index]
                                            : std::string_view("unknown");
}

std::optional<DeliveryState> ParseDeliveryState(std::string_view name) {
  for (std::size_t i = 0; i < kDeliveryStateNames.size(); ++i) {
    if (kDeliveryStateNames[i] == name) return static_cast<DeliveryState>(i);
  }
  return std::nullopt;
}

int CurrentSchemaVersion() { return internal::SchemaVersion(); }

// SQLite is the only backend so far; a PostgreSQL one would be chosen here.
Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  return internal::SqliteStore::Open(options);
}

Result<AppendResult> Store::AppendAndWait(IncomingMessage message) {
  return WaitFor<Result<AppendResult>>(OnWriterThread(), "AppendAndWait", [&](auto done) {
    return Append(std::move(message), std::move(done));
  });
}

Status Store::UpdateStatusAndWait(MessageId id, MessageState state, std::string error) {
  return WaitFor<Status>(OnWriterThread(), "UpdateStatusAndWait", [&](auto done) {
    return UpdateStatus(id, state, std::move(error), std::move(done));
  });
}

Result<std::vector<DeliveryId>> Store::RecordProcessingAndWait(ProcessingOutcome outcome) {
  return WaitFor<Result<std::vector<DeliveryId>>>(
      OnWriterThread(), "RecordProcessingAndWait",
      [&](auto done) { return RecordProcessing(std::move(outcome), std::move(done)); });
}

Status Store::UpdateDeliveryAndWait(DeliveryUpdate update) {
  return WaitFor<Status>(OnWriterThread(), "UpdateDeliveryAndWait", [&](auto done) {
    return UpdateDelivery(std::move(update), std::move(done));
  });
}

Result<DeliveryId> Store::AddDeliveryAndWait(MessageId id, NewDelivery delivery) {
  return WaitFor<Result<DeliveryId>>(OnWriterThread(), "AddDeliveryAndWait", [&](auto done) {
    return AddDelivery(id, std::move(delivery), std::move(done));
  });
}

Status Store::ResetForReprocessAndWait(MessageId id) {
  return WaitFor<Status>(OnWriterThread(), "ResetForReprocessAndWait",
                         [&](auto done) { return ResetForReprocess(id, std::move(done)); });
}

Result<std::size_t> Store::PruneAndWait(PruneRequest request) {
  return WaitFor<Result<std::size_t>>(OnWriterThread(), "PruneAndWait", [&](auto done) {
    return Prune(std::move(request), std::move(done));
  });
}

Status Store::RecordProcessingBatch(std::vector<ProcessingOutcome> outcomes,
                                    std::vector<ProcessingCallback> done) {
  done.resize(outcomes.size());
  Status first;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    Status queued = RecordProcessing(std::move(outcomes[i]), done[i]);
    if (queued.ok()) continue;
    if (done[i]) done[i](queued);
    if (first.ok()) first = std::move(queued);
  }
  return first;
}

Status Store::UpdateDeliveries(std::vector<DeliveryUpdate> updates, StatusCallback done) {
  if (updates.empty()) {
    if (done) done(Status::Ok());
    return Status::Ok();
  }
  // The first error of any update, reported once the last one is committed.
  struct Shared {
    std::mutex mutex;
    Status first;
    std::size_t left = 0;
    StatusCallback done;
  };
  auto shared = std::make_shared<Shared>();
  shared->left = updates.size();
  shared->done = std::move(done);
  auto one = [shared](Status s) {
    StatusCallback finish;
    Status result;
    {
      std::lock_guard<std::mutex> lock(shared->mutex);
      if (!s.ok() && shared->first.ok()) shared->first = std::move(s);
      if (--shared->left != 0) return;
      finish = std::move(shared->done);
      result = shared->first;
    }
    if (finish) finish(std::move(result));
  };
  for (std::size_t i = 0; i < updates.size(); ++i) {
    Status queued = UpdateDelivery(std::move(updates[i]), one);
    if (!queued.ok() && i == 0) {
      shared->done = nullptr;  // nothing queued: refused, as UpdateDelivery
      return queued;
    }
    if (!queued.ok()) {
      // The rest is not queued: they fail with this error.
      for (std::size_t k = i; k < updates.size(); ++k) one(queued);
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Result<std::vector<MessageId>> Store::ListIdsForProcessing(const std::string& channel,
                                                           MessageId after_id, std::size_t limit) {
  auto rows = ListForProcessing(channel, after_id, limit);
  if (!rows.ok()) return rows.status();
  std::vector<MessageId> ids;
  ids.reserve(rows->size());
  for (const MessageRecord& r : *rows) ids.push_back(r.id);
  return ids;
}

}  // namespace junction::store
