"""Plain OpenLineage run events (dicts) for emission tests: ``n_runs`` runs of ``per_run`` events each
(START, RUNNING..., COMPLETE), distinct jobs and run ids, deterministic event times."""

from __future__ import annotations

import uuid

from openlineage.client import event_v2

from lineage.emission import events as ev


def run_events(n_runs: int = 1, per_run: int = 2, job: str = "job") -> list[dict]:
    out = []
    for r in range(n_runs):
        run_id = str(uuid.uuid4())
        states = [event_v2.RunState.START, *[event_v2.RunState.RUNNING] * max(0, per_run - 2),
                  event_v2.RunState.COMPLETE][-per_run:] if per_run > 1 else [event_v2.RunState.COMPLETE]
        out += [ev.to_dict(ev.run_event(s, run_id=run_id, job_namespace="dagster", job_name=f"{job}{r}",
                                        event_time=f"2026-03-02T00:{r % 60:02d}:{i:02d}+00:00"))
                for i, s in enumerate(states)]
    return out
