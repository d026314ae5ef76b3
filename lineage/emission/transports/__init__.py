"""OpenLineage transports for outbox delivery, one module each.

* :mod:`.base`: the interface, :class:`BatchTransport` (an openlineage-python ``Transport`` that takes
  batches) and :class:`DeliveryError`;
* :mod:`.store`: ``type: obs_lineage_store``, direct writes into the lineage store database;
* :mod:`.lineage_api`: ``type: obs_lineage_api``, batches to the embedded lineage API over HTTP;
* :mod:`.callable`: ``type: obs_callable``, batches to a Python function;
* :mod:`.adapter`: any other openlineage-python transport, one event at a time.

Importing this package registers the three ``obs_*`` types with openlineage-python's transport
factory, so ``openlineage.yml`` or ``OPENLINEAGE__TRANSPORT__TYPE`` can name them.
"""

from lineage.emission.transports.adapter import OneByOne, as_batch, tuned_for_outbox
from lineage.emission.transports.base import BatchTransport, DeliveryError
from lineage.emission.transports.callable import CallableConfig, CallableTransport
from lineage.emission.transports.lineage_api import LineageApiConfig, LineageApiTransport
from lineage.emission.transports.store import LineageStoreConfig, LineageStoreTransport

__all__ = [
    "BatchTransport",
    "CallableConfig",
    "CallableTransport",
    "DeliveryError",
    "LineageApiConfig",
    "LineageApiTransport",
    "LineageStoreConfig",
    "LineageStoreTransport",
    "OneByOne",
    "as_batch",
    "tuned_for_outbox",
]
