"""The lineage graph (an incremental networkx view of the store) and the queries over it."""
