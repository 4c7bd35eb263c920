// FHIR write semantics over ResourceWriter (private to junction::fhir_store):
// create, update (also as create), delete, their conditional forms,
// If-Match, "unchanged" updates, the Access check, and transactions (id
// assignment, urn:uuid and conditional reference resolution, DELETE-POST-PUT
// order, all or nothing) and batches (each entry on its own).
//
//   WriteContext ctx{&writer, &access, now_us, max_bytes, new_id};
//   Result<WriteOutcome> outcome = ApplyWriteBatch(ctx, batch);
//
// Runs on the writer thread inside the writer's open transaction; each call
// uses its own SAVEPOINTs, so a failing batch leaves the rest of the group
// commit alone. Conditional matching sees everything written earlier in the
// same SQLite transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "fhir/store/resource_writer.h"
#include "junction/fhir/resource_store.h"

namespace junction::fhir::store_internal {

struct WriteContext {
  ResourceWriter* writer = nullptr;
  const Access* access = nullptr;
  std::int64_t now_us = 0;  // meta.lastUpdated of every version written
  std::size_t max_resource_bytes = 0;
  std::function<std::string()> new_id;  // ids for creates
};

// A Status error is a storage failure (everything of the batch is rolled
// back); FHIR-level failures (4xx) are in the WriteOutcome.
Result<WriteOutcome> ApplyWriteBatch(WriteContext& ctx, WriteBatch& batch);

}  // namespace junction::fhir::store_internal
