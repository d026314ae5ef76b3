"""``events.to_dict`` equals ``Serde.to_dict`` on the shapes its shortcuts touch: empty lists in attrs fields
and dicts, None and empty objects inside lists, nested lists, tuples, enums and attrs objects without fields."""

import enum

import attr
from openlineage.client import event_v2
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.serde import Serde

from lineage.emission import events as ev


class Colour(enum.Enum):
    RED = "red"


@attr.define
class Empty:
    pass


@attr.define
class Holder:
    items: list
    extra: dict
    nested: tuple = ()
    maybe: object = None


def _cases():
    field = cl.InputField(namespace="ns", name="src", field="a", transformations=[])
    facet = cl.ColumnLineageDatasetFacet(fields={"x": cl.Fields(inputFields=[field, field]), "y": cl.Fields(inputFields=[])})
    yield facet
    yield Holder(items=[], extra={"a": [], "b": None, "c": {}, "d": [None, {}, [], Colour.RED, Empty()]})
    yield Holder(items=[None, 1, "s", 2.5, True, {}, {"k": None}, [[], [None]], Colour.RED], extra={},
                 nested=((1, None), Empty()), maybe=Colour.RED)
    yield event_v2.RunEvent(eventType=event_v2.RunState.COMPLETE, eventTime="2026-03-01T00:00:00Z",
                            run=event_v2.Run(runId="0190e0c8-2d4e-7d8e-8f00-000000000001", facets={}),
                            job=event_v2.Job(namespace="d", name="j", facets={}), producer="p",
                            inputs=[], outputs=[event_v2.OutputDataset(namespace="ns", name="o",
                                                                       facets={"columnLineage": facet})])


def test_to_dict_equals_serde_on_edge_shapes():
    for obj in _cases():
        assert ev.to_dict(obj) == Serde.to_dict(obj)
