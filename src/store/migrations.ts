// The database schema as numbered migrations. Never edit a released migration: add a new one.
// Resources are JSON documents (`body`) with the columns that queries filter and sort on beside them.
// One list for both dialects: a version means the same schema on SQLite and PostgreSQL, and a new
// migration without its PostgreSQL form does not compile. PostgreSQL text columns that are sorted or
// compared use COLLATE "C" (byte order, as SQLite), whatever the database's locale.

export interface Migration {
  version: number;
  name: string;
  /** SQLite */
  sql: string;
  /** the same schema change on PostgreSQL */
  postgres: string;
}

/** PostgreSQL's text type for sorted or compared columns */
const T = 'TEXT COLLATE "C"';

const resourceTable = (name: string, extra = ""): string => `
CREATE TABLE ${name} (
  id TEXT PRIMARY KEY,
  compartment_id TEXT,
  lifecycle_state TEXT NOT NULL,
  display_name TEXT NOT NULL,
  time_created TEXT NOT NULL,
  etag TEXT NOT NULL,
  body TEXT NOT NULL${extra}
);
CREATE INDEX ${name}_compartment ON ${name} (compartment_id, time_created, id);
`;

const pgResourceTable = (name: string): string => `
CREATE TABLE ${name} (
  id ${T} PRIMARY KEY,
  compartment_id ${T},
  lifecycle_state ${T} NOT NULL,
  display_name ${T} NOT NULL,
  time_created ${T} NOT NULL,
  etag TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX ${name}_compartment ON ${name} (compartment_id, time_created, id);
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "resources, work requests, api keys, objects, fine-tune history",
    sql: `
${resourceTable("dedicated_ai_clusters")}
${resourceTable("models")}
${resourceTable("endpoints")}
CREATE TABLE work_requests (
  id TEXT PRIMARY KEY,
  compartment_id TEXT,
  status TEXT NOT NULL,
  operation_type TEXT NOT NULL,
  time_accepted TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX work_requests_compartment ON work_requests (compartment_id, time_accepted, id);
CREATE TABLE work_request_errors (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  work_request_id TEXT NOT NULL REFERENCES work_requests (id) ON DELETE CASCADE,
  code TEXT NOT NULL,
  message TEXT NOT NULL,
  timestamp TEXT NOT NULL
);
CREATE INDEX work_request_errors_wr ON work_request_errors (work_request_id, seq);
CREATE TABLE work_request_logs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  work_request_id TEXT NOT NULL REFERENCES work_requests (id) ON DELETE CASCADE,
  message TEXT NOT NULL,
  timestamp TEXT NOT NULL
);
CREATE INDEX work_request_logs_wr ON work_request_logs (work_request_id, seq);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  key_hash TEXT NOT NULL UNIQUE,
  compartments TEXT NOT NULL,
  display_name TEXT NOT NULL,
  time_created TEXT NOT NULL,
  time_revoked TEXT
);
CREATE TABLE buckets (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  compartment_id TEXT NOT NULL,
  time_created TEXT NOT NULL,
  PRIMARY KEY (namespace, name)
);
CREATE TABLE objects (
  namespace TEXT NOT NULL,
  bucket TEXT NOT NULL,
  name TEXT NOT NULL,
  size INTEGER NOT NULL,
  md5 TEXT NOT NULL,
  etag TEXT NOT NULL,
  content_type TEXT NOT NULL,
  file TEXT NOT NULL,
  time_modified TEXT NOT NULL,
  PRIMARY KEY (namespace, bucket, name),
  FOREIGN KEY (namespace, bucket) REFERENCES buckets (namespace, name)
);
CREATE TABLE fine_tune_jobs (
  model_id TEXT PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
  work_request_id TEXT NOT NULL,
  cluster_id TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  time_updated TEXT NOT NULL
);
CREATE TABLE fine_tune_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  timestamp TEXT NOT NULL,
  level TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX fine_tune_events_model ON fine_tune_events (model_id, seq);
CREATE TABLE fine_tune_metrics (
  model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  timestamp TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (model_id, step)
);
`,
    postgres: `
${pgResourceTable("dedicated_ai_clusters")}
${pgResourceTable("models")}
${pgResourceTable("endpoints")}
CREATE TABLE work_requests (
  id ${T} PRIMARY KEY,
  compartment_id ${T},
  status ${T} NOT NULL,
  operation_type ${T} NOT NULL,
  time_accepted ${T} NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX work_requests_compartment ON work_requests (compartment_id, time_accepted, id);
CREATE TABLE work_request_errors (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  work_request_id ${T} NOT NULL REFERENCES work_requests (id) ON DELETE CASCADE,
  code TEXT NOT NULL,
  message TEXT NOT NULL,
  timestamp TEXT NOT NULL
);
CREATE INDEX work_request_errors_wr ON work_request_errors (work_request_id, seq);
CREATE TABLE work_request_logs (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  work_request_id ${T} NOT NULL REFERENCES work_requests (id) ON DELETE CASCADE,
  message TEXT NOT NULL,
  timestamp TEXT NOT NULL
);
CREATE INDEX work_request_logs_wr ON work_request_logs (work_request_id, seq);
CREATE TABLE api_keys (
  id ${T} PRIMARY KEY,
  key_hash TEXT NOT NULL UNIQUE,
  compartments TEXT NOT NULL,
  display_name TEXT NOT NULL,
  time_created ${T} NOT NULL,
  time_revoked TEXT
);
CREATE TABLE buckets (
  namespace ${T} NOT NULL,
  name ${T} NOT NULL,
  compartment_id TEXT NOT NULL,
  time_created TEXT NOT NULL,
  PRIMARY KEY (namespace, name)
);
CREATE TABLE objects (
  namespace ${T} NOT NULL,
  bucket ${T} NOT NULL,
  name ${T} NOT NULL,
  size BIGINT NOT NULL,
  md5 TEXT NOT NULL,
  etag TEXT NOT NULL,
  content_type TEXT NOT NULL,
  file TEXT NOT NULL,
  time_modified TEXT NOT NULL,
  PRIMARY KEY (namespace, bucket, name),
  FOREIGN KEY (namespace, bucket) REFERENCES buckets (namespace, name)
);
CREATE TABLE fine_tune_jobs (
  model_id ${T} PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
  work_request_id TEXT NOT NULL,
  cluster_id TEXT NOT NULL,
  state ${T} NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  time_updated ${T} NOT NULL
);
CREATE TABLE fine_tune_events (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  model_id ${T} NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  timestamp TEXT NOT NULL,
  level TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX fine_tune_events_model ON fine_tune_events (model_id, seq);
CREATE TABLE fine_tune_metrics (
  model_id ${T} NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  timestamp TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (model_id, step)
);
`,
  },
  {
    version: 2,
    name: "nodes, unit reservations (a core is held by at most one unit), admin API keys",
    sql: `
CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  time_registered TEXT NOT NULL,
  time_heartbeat TEXT NOT NULL
);
CREATE TABLE unit_reservations (
  cluster_id TEXT NOT NULL REFERENCES dedicated_ai_clusters (id) ON DELETE CASCADE,
  unit_index INTEGER NOT NULL,
  node_id TEXT NOT NULL REFERENCES nodes (id),
  memory_bytes INTEGER NOT NULL,
  time_created TEXT NOT NULL,
  PRIMARY KEY (cluster_id, unit_index)
);
CREATE INDEX unit_reservations_node ON unit_reservations (node_id);
CREATE TABLE reserved_cores (
  node_id TEXT NOT NULL REFERENCES nodes (id),
  core INTEGER NOT NULL,
  cluster_id TEXT NOT NULL,
  unit_index INTEGER NOT NULL,
  PRIMARY KEY (node_id, core),
  FOREIGN KEY (cluster_id, unit_index) REFERENCES unit_reservations (cluster_id, unit_index) ON DELETE CASCADE
);
ALTER TABLE api_keys ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
`,
    postgres: `
CREATE TABLE nodes (
  id ${T} PRIMARY KEY,
  body TEXT NOT NULL,
  time_registered TEXT NOT NULL,
  time_heartbeat TEXT NOT NULL
);
CREATE TABLE unit_reservations (
  cluster_id ${T} NOT NULL REFERENCES dedicated_ai_clusters (id) ON DELETE CASCADE,
  unit_index INTEGER NOT NULL,
  node_id ${T} NOT NULL REFERENCES nodes (id),
  memory_bytes BIGINT NOT NULL,
  time_created TEXT NOT NULL,
  PRIMARY KEY (cluster_id, unit_index)
);
CREATE INDEX unit_reservations_node ON unit_reservations (node_id);
CREATE TABLE reserved_cores (
  node_id ${T} NOT NULL REFERENCES nodes (id),
  core INTEGER NOT NULL,
  cluster_id ${T} NOT NULL,
  unit_index INTEGER NOT NULL,
  PRIMARY KEY (node_id, core),
  FOREIGN KEY (cluster_id, unit_index) REFERENCES unit_reservations (cluster_id, unit_index) ON DELETE CASCADE
);
ALTER TABLE api_keys ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
`,
  },
  {
    version: 3,
    name: "opc-retry-token: the first answer to each create, per API key and token",
    sql: `
CREATE TABLE retry_tokens (
  key_id TEXT NOT NULL,
  token TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status INTEGER,
  headers TEXT,
  body TEXT,
  time_created TEXT NOT NULL,
  PRIMARY KEY (key_id, token)
);
CREATE INDEX retry_tokens_time ON retry_tokens (time_created);
`,
    postgres: `
CREATE TABLE retry_tokens (
  key_id ${T} NOT NULL,
  token ${T} NOT NULL,
  request_hash TEXT NOT NULL,
  status INTEGER,
  headers TEXT,
  body TEXT,
  time_created TEXT NOT NULL,
  PRIMARY KEY (key_id, token)
);
CREATE INDEX retry_tokens_time ON retry_tokens (time_created);
`,
  },
];
