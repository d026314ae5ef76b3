"""OpenLineage backend: an idempotent event store, an ingest/query HTTP API and graph queries.

Modules: `config` (where the store lives), `validation` (official JSON Schemas, vendored in
`schemas/`), `tables` + `migrations/` (SQLAlchemy Core schema, Alembic), `store` (ingest),
`graph` (incremental networkx view), `queries` (upstream, downstream, paths, columns, impact,
history, graph as of a time), `api` (FastAPI app factory) and `cli` (`obs serve`, `obs ingest`,
`obs lineage ...`). Importing the package has no side effects; import the module you need.
"""
