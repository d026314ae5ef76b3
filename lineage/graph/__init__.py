"""The lineage graph (an incremental networkx view of the store) and the queries over it.

``model`` (LineageGraph: current job versions, point-in-time views), ``cache`` (``graph_for(store)``:
one graph per open store, kept here rather than in the store), ``queries`` (the public questions).
"""
