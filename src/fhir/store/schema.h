// The resource store's SQLite schema (private to junction::fhir_store).
// Shared by the writer (resource_writer.*, index extraction) and the search
// compiler (search_query.*): both must agree on these tables.
//
// Every resource has one row in `resources` (its current version, or a
// tombstone) keyed by an internal rid; `resource_versions` keeps every
// version. The index tables hold one row per extracted value, keyed by rid
// and the search parameter's key "Type.name" (e.g. "Observation.code"), and
// are rewritten with each version (deleted resources have none).
// `compartments` lists, for each resource, the Patient ids whose compartment
// it is in (a Patient is in its own).
#pragma once

namespace junction::fhir::store_internal {

inline constexpr int kSchemaVersion = 1;

inline constexpr const char* kSchemaSql = R"SQL(
CREATE TABLE IF NOT EXISTS resources(
  rid INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  last_updated TEXT NOT NULL,          -- FHIR instant, UTC, milliseconds
  last_updated_us INTEGER NOT NULL,    -- the same as microseconds since 1970
  deleted INTEGER NOT NULL DEFAULT 0,
  json TEXT NOT NULL,                  -- '' when deleted
  UNIQUE(type, id));
CREATE INDEX IF NOT EXISTS resources_type_updated ON resources(type, last_updated_us);
CREATE TABLE IF NOT EXISTS resource_versions(
  rid INTEGER NOT NULL,
  version INTEGER NOT NULL,
  last_updated TEXT NOT NULL,
  last_updated_us INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  method TEXT NOT NULL,                -- POST | PUT | DELETE (Bundle.entry.request in history)
  json TEXT NOT NULL,
  PRIMARY KEY(rid, version)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS resource_versions_updated ON resource_versions(last_updated_us);
CREATE TABLE IF NOT EXISTS compartments(
  patient TEXT NOT NULL,
  rid INTEGER NOT NULL,
  PRIMARY KEY(patient, rid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS compartments_rid ON compartments(rid);
-- token: Coding/CodeableConcept/Identifier/code/boolean/ContactPoint; text = display/text (for :text)
CREATE TABLE IF NOT EXISTS idx_token(rid INTEGER NOT NULL, param TEXT NOT NULL,
  system TEXT NOT NULL, code TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_token_code ON idx_token(param, code, system);
CREATE INDEX IF NOT EXISTS idx_token_rid ON idx_token(rid);
-- string: norm = lower-case, accents removed, whitespace collapsed (prefix and :contains search)
CREATE TABLE IF NOT EXISTS idx_string(rid INTEGER NOT NULL, param TEXT NOT NULL,
  norm TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_string_norm ON idx_string(param, norm);
CREATE INDEX IF NOT EXISTS idx_string_rid ON idx_string(rid);
-- date: the value's implicit range [lo_us, hi_us] (a year covers the whole year), microseconds UTC
CREATE TABLE IF NOT EXISTS idx_date(rid INTEGER NOT NULL, param TEXT NOT NULL,
  lo_us INTEGER NOT NULL, hi_us INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS idx_date_lo ON idx_date(param, lo_us);
CREATE INDEX IF NOT EXISTS idx_date_rid ON idx_date(rid);
-- reference: relative "Type/id" split; url for absolute/canonical references
CREATE TABLE IF NOT EXISTS idx_reference(rid INTEGER NOT NULL, param TEXT NOT NULL,
  target_type TEXT NOT NULL, target_id TEXT NOT NULL, url TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_reference_target ON idx_reference(param, target_id, target_type);
CREATE INDEX IF NOT EXISTS idx_reference_back ON idx_reference(target_type, target_id);
CREATE INDEX IF NOT EXISTS idx_reference_rid ON idx_reference(rid);
CREATE TABLE IF NOT EXISTS idx_quantity(rid INTEGER NOT NULL, param TEXT NOT NULL,
  value REAL NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL, unit TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_quantity_value ON idx_quantity(param, value);
CREATE INDEX IF NOT EXISTS idx_quantity_rid ON idx_quantity(rid);
CREATE TABLE IF NOT EXISTS idx_number(rid INTEGER NOT NULL, param TEXT NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS idx_number_value ON idx_number(param, value);
CREATE INDEX IF NOT EXISTS idx_number_rid ON idx_number(rid);
CREATE TABLE IF NOT EXISTS idx_uri(rid INTEGER NOT NULL, param TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_uri_value ON idx_uri(param, value);
CREATE INDEX IF NOT EXISTS idx_uri_rid ON idx_uri(rid);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
)SQL";

}  // namespace junction::fhir::store_internal
