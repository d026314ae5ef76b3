"""OpenLineage backend, one folder per stage of the one-way flow:

``emission`` (events and the durable outbox) → ``store`` (validation, tables, migrations, ingest)
→ ``graph`` (incremental networkx view, lineage queries) → ``analysis`` (root-cause analysis,
health) → ``serve`` (HTTP API, Prometheus metrics, dashboards) and ``cli`` (`obs serve`,
`obs ingest`, `obs lineage ...`, `obs rca`). ``config`` says where the store lives. Importing the
package has no side effects; import the module you need.
"""
