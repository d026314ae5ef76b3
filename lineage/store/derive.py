"""Rows derived from one OpenLineage event: edges, facets, versions, symlinks, declared lineage.

Other producers' facets are not always valid (validation checks the core event; a facet may be
anything), so every reader here takes what is well-formed and skips the rest: a malformed
optional facet never rejects an event or breaks a later query.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.store import tables as t
from lineage.store.validation import stable_run_uuid

# Events parsed from JSON are dicts: checking `dict` first skips the slow ABC isinstance path.
_MAPPING = (dict, Mapping)
# A key absent from an event's canonical JSON (the payload) is absent from the event: most events carry
# no `lineage` or `columnLineage` facet, and the payload says so without walking them.
_LINEAGE_KEY = '"lineage":'
_COLUMN_LINEAGE_KEY = '"columnLineage":'
_FACET_KEYS = ('"facets":', '"inputFacets":', '"outputFacets":')

Key = tuple[str, str]  # (namespace, name)


Side = tuple[str | None, str | None, str | None, Mapping[str, Any], Key]  # direction, extra key, scope, ds, key


@dataclass
class Prepared:
    """One event reduced to what the tables need; what is read from it is read once (cached)."""

    raw: Mapping[str, Any]
    payload: str
    event_hash: str
    kind: str
    event_type: str | None
    event_time: datetime
    run_uuid: str | None
    job: Key | None

    # Read once, on first use (plain attributes: functools.cached_property takes a lock on 3.11).
    _sides: list[Side] | None = field(default=None, init=False, repr=False, compare=False)
    _lineage: tuple[list[DeclaredEdge], list[tuple[Key, ColumnSource]]] | None = field(
        default=None, init=False, repr=False, compare=False)
    _columns: list[tuple[Key, list[ColumnSource]]] | None = field(default=None, init=False, repr=False, compare=False)
    # id(facet) -> (facet, its canonical JSON) when screening made them with the payload (else dumped here).
    facet_texts: Mapping[int, tuple[Any, str]] = field(default_factory=dict, repr=False, compare=False)

    def facet_json(self, facet: Any) -> str:
        """`canonical(facet)`, made once: screening's text when it made one for this very facet."""
        known = self.facet_texts.get(id(facet)) if self.facet_texts else None
        return known[1] if known is not None and known[0] is facet else canonical(facet)

    @property
    def sides(self) -> list[Side]:
        if self._sides is None:
            self._sides = list(_sides(self.raw))
        return self._sides

    @property
    def lineage(self) -> tuple[list[DeclaredEdge], list[tuple[Key, ColumnSource]]]:
        if self._lineage is None:
            found = _LINEAGE_KEY in self.payload
            self._lineage = _lineage_facet_edges(self.sides, self.raw, self.job) if found else ([], [])
        return self._lineage

    @property
    def column_sources(self) -> list[tuple[Key, list[ColumnSource]]]:
        """(dataset key, its ColumnLineage sources) per side."""
        if self._columns is None:
            found = _COLUMN_LINEAGE_KEY in self.payload
            self._columns = [(key, list(column_sources(ds)) if found else []) for _, _, _, ds, key in self.sides]
        return self._columns

    @property
    def has_side_facets(self) -> bool:
        """Whether any dataset of the event carries facets (else no facet-derived rows)."""
        if not any(key in self.payload for key in _FACET_KEYS):
            return False
        return any(ds.get("facets") or (extra and ds.get(extra)) for _, extra, _, ds, _ in self.sides)

    def dataset_keys(self) -> set[Key]:
        keys = {key for key, _ in self.column_sources}
        for _, sources in self.column_sources:
            keys.update(s.src for s in sources)
        return keys | _lineage_keys(self.lineage, "dataset") if self.lineage[0] or self.lineage[1] else keys

    def job_keys(self) -> set[Key]:
        own = {self.job} if self.job else set()
        return own | _lineage_keys(self.lineage, "job") if self.lineage[0] else own


@dataclass(frozen=True)
class ColumnSource:
    """One source column of a target column (`dst_field` None: of the whole target dataset)."""

    src: Key
    src_field: str
    dst_field: str | None
    transformations: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class DeclaredEdge:
    """An entity edge from the `lineage` facet or a static DatasetEvent's column lineage."""

    src_kind: str
    src: Key
    dst_kind: str
    dst: Key
    origin: str


def mapping(value: Any) -> Mapping[str, Any] | None:
    if type(value) is dict:  # the common case first: an ABC isinstance check costs ~10x more
        return value
    return value if value is not None and isinstance(value, Mapping) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _key(entry: Any) -> Key | None:
    entry = mapping(entry)
    if entry is None:
        return None
    namespace, name = entry.get("namespace"), entry.get("name")
    if type(namespace) is str and type(name) is str and namespace and name:
        return (namespace, name)
    return (namespace, name) if _text(namespace) and _text(name) else None  # str subclasses


def _entries(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, _MAPPING)] if isinstance(value, list) else []


def dataset_list(raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """Well-formed datasets (with namespace and name) of `inputs` / `outputs`."""
    return [d for d in _entries(raw.get(key)) if _key(d)]


def event_datasets(raw: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    datasets = [*dataset_list(raw, "inputs"), *dataset_list(raw, "outputs")]
    if _key(raw.get("dataset")):
        datasets.append(raw["dataset"])
    return datasets


def facet(entity: Mapping[str, Any], name: str, group: str = "facets") -> Mapping[str, Any] | None:
    facets = entity.get(group)
    if facets is None:  # the common case: no facets of that group
        return None
    facets = mapping(facets)
    return mapping(facets.get(name)) if facets is not None else None


def column_sources(ds: Mapping[str, Any]) -> Iterator[ColumnSource]:
    """Source columns from ColumnLineage: `fields.<out>.inputFields[]` and the top-level `dataset[]`
    (inputs that affect the whole output: filters, joins, grouping)."""
    lineage = facet(ds, "columnLineage")
    if lineage is None:
        return
    fields = mapping(lineage.get("fields")) or {}
    for out_field, spec in fields.items():
        spec = mapping(spec)
        dst_field = str(out_field)
        for src in _entries(spec.get("inputFields")) if spec else []:
            if source := _column_source(src, dst_field, src.get("transformations")):
                yield source
    for src in _entries(lineage.get("dataset")):
        if source := _column_source(src, None, src.get("transformations")):
            yield source


def _column_source(src: Mapping[str, Any], dst_field: str | None, transformations: Any) -> ColumnSource | None:
    key, field = _key(src), _text(src.get("field"))
    if not (key and field):
        return None
    kinds = tuple(tr for tr in _entries(transformations) if _text(tr.get("type"))) if transformations else ()
    return ColumnSource(key, field, dst_field, kinds)


# ---------------------------------------------------------------------- the `lineage` facet
def _lineage_inputs(inputs: Any, own_job: Key | None) -> Iterator[tuple[str, Key, Mapping[str, Any]]]:
    """(kind, key, entry) of LineageInput entries; a job input without a name is the event's job."""
    for entry in _entries(inputs):
        if entry.get("type") == "JOB":
            key = _key(entry) or own_job
            if key:
                yield "job", key, entry
        elif key := _key(entry):
            yield "dataset", key, entry


def _target_lineage(
    target: Key, spec: Mapping[str, Any], own_job: Key | None
) -> tuple[list[DeclaredEdge], list[tuple[Key, ColumnSource]]]:
    """Edges into dataset `target` from a LineageDatasetFacet or LineageDatasetEntry."""
    edges: list[DeclaredEdge] = []
    columns: list[tuple[Key, ColumnSource]] = []
    for kind, key, entry in _lineage_inputs(spec.get("inputs"), own_job):
        edges.append(DeclaredEdge(kind, key, "dataset", target, "lineage"))
        if kind == "dataset" and (field := _text(entry.get("field"))):  # a dataset-wide operation
            columns.append((target, ColumnSource(key, field, None, _transformations(entry))))
    for dst_field, field_spec in (mapping(spec.get("fields")) or {}).items():
        field_spec = mapping(field_spec) or {}
        for kind, key, entry in _lineage_inputs(field_spec.get("inputs"), own_job):
            edges.append(DeclaredEdge(kind, key, "dataset", target, "lineage"))
            if kind == "dataset" and (field := _text(entry.get("field"))):
                columns.append((target, ColumnSource(key, field, str(dst_field), _transformations(entry))))
    return edges, columns


def _transformations(entry: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    return tuple(tr for tr in _entries(entry.get("transformations")) if _text(tr.get("type")))


def lineage_facet_edges(
    raw: Mapping[str, Any], own_job: Key | None
) -> tuple[list[DeclaredEdge], list[tuple[Key, ColumnSource]]]:
    """Entity and field edges of every `lineage` facet in the event (dataset and job facets)."""
    return _lineage_facet_edges(list(_sides(raw)), raw, own_job)


def _lineage_facet_edges(
    sides: list[Side], raw: Mapping[str, Any], own_job: Key | None
) -> tuple[list[DeclaredEdge], list[tuple[Key, ColumnSource]]]:
    edges: list[DeclaredEdge] = []
    columns: list[tuple[Key, ColumnSource]] = []
    for _, _, _, ds, key in sides:
        spec = facet(ds, "lineage")
        if spec is not None:
            e, c = _target_lineage(key, spec, own_job)
            edges += e
            columns += c
    job = mapping(raw.get("job"))
    job_lineage = facet(job, "lineage") if job else None
    for entry in _entries(job_lineage.get("entries")) if job_lineage else []:
        if entry.get("type") == "JOB":
            target = _key(entry) or own_job
            for kind, key, _ in _lineage_inputs(entry.get("inputs"), own_job) if target else []:
                edges.append(DeclaredEdge(kind, key, "job", target, "lineage"))  # type: ignore[arg-type]
        elif target_ds := _key(entry):
            e, c = _target_lineage(target_ds, entry, own_job)
            edges += e
            columns += c
    return edges, columns


def static_column_edges(raw: Mapping[str, Any]) -> list[DeclaredEdge]:
    """A DatasetEvent's column lineage says its dataset is derived from the source datasets."""
    ds = mapping(raw.get("dataset"))
    target = _key(ds)
    if ds is None or target is None or raw.get("job") is not None:
        return []
    sources = sorted({s.src for s in column_sources(ds)})
    return [DeclaredEdge("dataset", src, "dataset", target, "columnLineage") for src in sources]


# ---------------------------------------------------------------------- node keys
def job_key(job: Any) -> Key | None:
    """The event's own job (namespace, name), or None for a DatasetEvent."""
    job = mapping(job)
    if job is None or job.get("namespace") is None or job.get("name") is None:
        return None
    return (str(job["namespace"]), str(job["name"]))


def dataset_keys(raw: Mapping[str, Any]) -> set[Key]:
    keys: set[Key] = set()
    for ds in event_datasets(raw):
        keys.add(_key(ds))  # type: ignore[arg-type]
        keys.update(s.src for s in column_sources(ds))
    lineage = lineage_facet_edges(raw, job_key(raw.get("job")))
    return keys | _lineage_keys(lineage, "dataset")


def job_keys(raw: Mapping[str, Any]) -> set[Key]:
    own = job_key(raw.get("job"))
    keys = {own} if own else set()
    return keys | _lineage_keys(lineage_facet_edges(raw, own), "job")


def _lineage_keys(lineage: tuple[list[DeclaredEdge], list[tuple[Key, ColumnSource]]], kind: str) -> set[Key]:
    """Node keys of one kind the `lineage` facets name (edge ends; field sources are datasets)."""
    edges, columns = lineage
    keys = {k for e in edges for k_kind, k in ((e.src_kind, e.src), (e.dst_kind, e.dst)) if k_kind == kind}
    if kind == "dataset":
        keys.update(s.src for _, s in columns)
    return keys


def parent_run_uuid(raw: Mapping[str, Any]) -> str | None:
    run = mapping(raw.get("run"))
    parent = facet(run, "parent") if run else None
    parent_run = mapping(parent.get("run")) if parent else None
    if parent_run and parent_run.get("runId"):
        return stable_run_uuid(parent_run["runId"])
    return None


# ---------------------------------------------------------------------- rows
def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass
class _Context:
    event_id: int
    item: Prepared
    dataset_ids: Mapping[Key, int]
    job_ids: Mapping[Key, int]
    run_id: int | None
    job_id: int | None

    def base(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "event_time": self.item.event_time}

    @property
    def sides(self) -> list[Side]:
        return self.item.sides

    @property
    def lineage(self) -> tuple[list[DeclaredEdge], list[tuple[Key, ColumnSource]]]:
        return self.item.lineage


def derived_rows(
    new_items: list[tuple[int, Prepared]],
    dataset_ids: Mapping[Key, int],
    job_ids: Mapping[Key, int],
    run_ids: Mapping[str, int],
    tables: tuple[Any, ...] | None = None,
) -> dict[Any, list[dict[str, Any]]]:
    """Rows for every derived table (or only `tables`, when a migration re-derives new ones)."""
    wanted = tables or (
        t.run_states, t.run_facets, t.io_edges, t.dataset_facets, t.dataset_versions, t.column_edges,
        *t.DERIVED_SINCE_0002,
    )
    out: dict[Any, list[dict[str, Any]]] = {table: [] for table in wanted}
    for event_id, item in new_items:
        ctx = _Context(
            event_id, item, dataset_ids, job_ids,
            run_ids.get(item.run_uuid) if item.run_uuid else None,
            job_ids.get(item.job) if item.job else None,
        )
        side_facets = item.has_side_facets
        for table, producer in _PRODUCERS.items():
            if table in out and (side_facets or table not in _SIDE_FACET_TABLES):
                out[table].extend(producer(ctx))
    return out


def _run_rows(ctx: _Context) -> Iterator[dict[str, Any]]:
    if ctx.run_id is not None:
        yield {**ctx.base(), "run_id": ctx.run_id, "event_type": ctx.item.event_type}


def _run_facet_rows(ctx: _Context) -> Iterator[dict[str, Any]]:
    run = mapping(ctx.item.raw.get("run"))
    facets = mapping(run.get("facets")) if run and ctx.run_id is not None else None
    for name, value in (facets or {}).items():
        yield {**ctx.base(), "run_id": ctx.run_id, "facet_name": name, "payload": ctx.item.facet_json(value)}


def _job_facet_rows(ctx: _Context) -> Iterator[dict[str, Any]]:
    job = mapping(ctx.item.raw.get("job"))
    facets = mapping(job.get("facets")) if job and ctx.job_id is not None else None
    for name, value in (facets or {}).items():
        yield {**ctx.base(), "job_id": ctx.job_id, "run_id": ctx.run_id, "facet_name": name, "payload": ctx.item.facet_json(value)}


def _sides(raw: Mapping[str, Any]) -> Iterator[Side]:
    for direction, extra_key, scope, side in (("in", "inputFacets", "input", "inputs"),
                                              ("out", "outputFacets", "output", "outputs")):
        for ds in _entries(raw.get(side)):
            if key := _key(ds):
                yield direction, extra_key, scope, ds, key
    if key := _key(raw.get("dataset")):
        yield None, None, None, raw["dataset"], key


def _io_rows(ctx: _Context) -> Iterator[dict[str, Any]]:
    if ctx.job_id is None:
        return
    for direction, _, _, _, key in ctx.sides:
        if direction is not None:
            yield {**ctx.base(), "job_id": ctx.job_id, "run_id": ctx.run_id, "dataset_id": ctx.dataset_ids[key],
                   "direction": direction}


def _facet_items(
    ds: Mapping[str, Any], extra_key: str | None, extra_scope: str | None
) -> Iterator[tuple[str, str, Any]]:
    groups = [("dataset", ds.get("facets"))]
    if extra_key:
        groups.append((str(extra_scope), ds.get(extra_key)))
    for scope, facets in groups:
        for name, value in (mapping(facets) or {}).items():
            yield scope, name, value


def _dataset_facet_rows(ctx: _Context) -> Iterator[dict[str, Any]]:
    for _, extra_key, extra_scope, ds, key in ctx.sides:
        dataset_id = ctx.dataset_ids[key]
        for scope, name, value in _facet_items(ds, extra_key, extra_scope):
            yield {**ctx.base(), "run_id": ctx.run_id, "dataset_id": dataset_id, "scope": scope,
                   "facet_name": name, "payload": ctx.item.facet_json(value)}


def _version_rows(ctx: _Context) -> Iterator[dict[str, Any]]:
    for _, _, _, ds, key in ctx.sides:
        version = facet(ds, "version")
        value = version.get("datasetVersion") if version else None
        if value is not None and not isinstance(value, (dict, list)):
            yield {**ctx.base(), "dataset_id": ctx.dataset_ids[key], "version": str(value), "run_id": ctx.run_id}


def _symlink_rows(ctx: _Context) -> Iterator[dict[str, Any]]:
    for _, _, _, ds, ds_key in ctx.sides:
        symlinks = facet(ds, "symlinks")
        for ident in _entries(symlinks.get("identifiers")) if symlinks else []:
            if key := _key(ident):
                yield {**ctx.base(), "dataset_id": ctx.dataset_ids[ds_key], "namespace": key[0], "name": key[1],
                       "type": _short(ident.get("type"), 32)}


# The transformation columns of a source without transformations (what `_column_row` makes of `{}`).
_UNTRANSFORMED = {"transformation_type": None, "transformation_subtype": None, "description": None, "masking": None}


def _column_common(ctx: _Context) -> dict[str, Any]:
    return {**ctx.base(), "job_id": ctx.job_id, "run_id": ctx.run_id}


def _column_row(ctx: _Context, dst_id: int, source: ColumnSource,
                common: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """`common`: `_column_common(ctx)` if made (the columns every row of the event shares)."""
    base = {**(_column_common(ctx) if common is None else common), "src_dataset_id": ctx.dataset_ids[source.src],
            "src_field": source.src_field, "dst_dataset_id": dst_id, "dst_field": source.dst_field}
    if not source.transformations:  # the common case: one row, no transformation to read
        yield {**base, **_UNTRANSFORMED}
        return
    for tr in source.transformations:
        masking = tr.get("masking")
        yield {
            **base,
            "transformation_type": _short(tr.get("type"), 32),
            "transformation_subtype": _short(tr.get("subtype"), 64),
            "description": tr.get("description") if isinstance(tr.get("description"), str) else None,
            "masking": masking if isinstance(masking, bool) else None,
        }


def _column_rows(ctx: _Context) -> Iterator[dict[str, Any]]:
    common = _column_common(ctx)
    for key, sources in ctx.item.column_sources:
        dst_id = ctx.dataset_ids[key]
        for source in sources:
            yield from _column_row(ctx, dst_id, source, common)


def _declared_rows(ctx: _Context) -> Iterator[dict[str, Any]]:
    edges = ctx.lineage[0] + static_column_edges(ctx.item.raw)
    ids = {"dataset": ctx.dataset_ids, "job": ctx.job_ids}
    for e in dict.fromkeys(edges):  # one row per distinct edge of the event
        yield {**ctx.base(), "job_id": ctx.job_id, "run_id": ctx.run_id, "src_kind": e.src_kind,
               "src_id": ids[e.src_kind][e.src], "dst_kind": e.dst_kind, "dst_id": ids[e.dst_kind][e.dst],
               "origin": e.origin}


def _declared_column_rows(ctx: _Context) -> Iterator[dict[str, Any]]:
    common = _column_common(ctx)
    for target, source in ctx.lineage[1]:
        yield from _column_row(ctx, ctx.dataset_ids[target], source, common)


_PRODUCERS = {
    t.run_states: _run_rows,
    t.run_facets: _run_facet_rows,
    t.io_edges: _io_rows,
    t.dataset_facets: _dataset_facet_rows,
    t.dataset_versions: _version_rows,
    t.column_edges: _column_rows,
    t.dataset_symlinks: _symlink_rows,
    t.job_facets: _job_facet_rows,
    t.declared_edges: _declared_rows,
    t.declared_column_edges: _declared_column_rows,
}


# Rows only the facets of an event's datasets give (skipped at once for events without any).
_SIDE_FACET_TABLES = frozenset({t.dataset_facets, t.dataset_versions, t.column_edges, t.dataset_symlinks})


def _short(value: Any, limit: int) -> str | None:
    return None if value is None else str(value)[:limit]
