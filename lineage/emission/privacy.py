"""Privacy policy for the numeric aggregates events carry: no single row's value leaves the process.

What a ``dataQualityMetrics`` facet holds per column (see :func:`lineage.emission.facets.column_metrics`):

============================  =================================================================
column                        carried
============================  =================================================================
private (``private_columns``  counts only (nulls, distinct, count): e.g. the columns a contract
/ ``$OBS_OL_PRIVATE_COLUMNS``)  marks sensitive
identifier-like (``*_id``...)  counts only
non-numeric                   counts only
numeric, < MIN_VALUES values  counts only: a min, max or median of a few rows is nearly a row
numeric                       min, max, sum, quantiles rounded to ``DIGITS`` significant digits
============================  =================================================================

Rounding (3 significant digits: 264,731.31 → 265,000) keeps what root-cause analysis reads — the
ratios and differences of quantiles (scale vs shift), ranges, infinities — while an exact minimum,
maximum or odd-sample median (each a row's value) no longer leaves the process. Exact values are an
explicit opt-in: ``OBS_OL_NUMERIC_PRECISION=exact`` (or ``EmissionSettings(numeric_digits=None)``).

The dataset version (``content_hash``) is a *keyed* fingerprint (HMAC-SHA256): it tells a re-delivered
partition from a new one, but without the key nobody can test a guess of the data against it. The key
is ``$OBS_LINEAGE_FINGERPRINT_KEY``, else a random key kept in ``$DAGSTER_HOME/lineage_fingerprint.key``
(created once, mode 0600). Deployments whose steps run on several machines set the variable, so the
same data gets the same version everywhere.
"""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path

import numpy as np

DIGITS = 3  # significant digits of min / max / sum / quantiles
MIN_VALUES = 5  # fewer non-null values in a column: no value aggregates at all
PRECISION_ENV = "OBS_OL_NUMERIC_PRECISION"  # "exact", or a number of significant digits
PRIVATE_COLUMNS_ENV = "OBS_OL_PRIVATE_COLUMNS"  # comma-separated column names
FINGERPRINT_KEY_ENV = "OBS_LINEAGE_FINGERPRINT_KEY"
KEY_FILE = "lineage_fingerprint.key"


def coarsen(value: float, digits: int | None = DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits (``None``: unchanged; inf/nan unchanged)."""
    if digits is None or not math.isfinite(value) or value == 0:
        return float(value)
    return float(f"{value:.{digits}g}")


# coarsen_many: 10**k for k = 0..22 (all exact in float64), and the digits it rounds in numpy (beyond 15 a
# rounded mantissa no longer fits the float64 integers; those go through ``coarsen``).
_POW10 = np.array([float(10**k) for k in range(23)])
_VECTOR_DIGITS = 15
_TIE_MARGIN = 1e-9  # relative: a scaled value this close to .5 may round the other way exactly: ``coarsen``


def coarsen_many(values: np.ndarray | list[float], digits: int | None = DIGITS) -> list[float]:
    """``[coarsen(float(v), digits) for v in values]``, bit for bit, vectorised (a wide frame rounds ~100k values).

    ``coarsen`` formats each value with ``digits`` significant digits (correctly rounded, ties to even, from the
    exact binary value) and parses it back (correctly rounded). Here ``|v|`` is scaled by an exact power of ten
    ``10**k`` into ``[10**(digits-1), 10**digits)`` in one correctly rounded operation (relative error <= 2**-53),
    rounded to an integer ``d`` and scaled back in one correctly rounded operation (``d`` and ``10**|k|`` are
    exact, so that is the float nearest to ``d * 10**k``, what parsing the text gives). The rounding of the scaled
    value is the exact one unless it lies within ``_TIE_MARGIN`` of a half (far wider than the scaling error);
    those values, and any whose scale is outside ``10**±22`` or whose scaled value misses the range, go through
    ``coarsen`` itself."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    if digits is None:
        return flat.tolist()
    if not 1 <= digits <= _VECTOR_DIGITS:
        return [coarsen(v, digits) for v in flat.tolist()]
    out = flat.copy()
    index = np.flatnonzero(np.isfinite(flat) & (flat != 0.0))
    magnitude = np.abs(flat[index])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        k = np.floor(np.log10(magnitude)).astype(np.int64) - (digits - 1)
        usable = np.abs(k) <= 22
        power = _POW10[np.where(usable, np.abs(k), 0)]
        up = k < 0
        scaled = np.where(up, magnitude * power, magnitude / power)
        rounded = np.rint(scaled)
        low, high = float(10 ** (digits - 1)), float(10**digits)
        usable &= (scaled >= low) & (scaled < high)
        usable &= np.abs(np.abs(scaled - rounded) - 0.5) > _TIE_MARGIN * scaled
        back = np.where(up, rounded / power, rounded * power)
    out[index] = np.copysign(back, flat[index])
    result = out.tolist()
    for i in index[~usable].tolist():
        result[i] = coarsen(float(flat[i]), digits)
    return result


def precision_from_env(default: int | None = DIGITS) -> int | None:
    """``$OBS_OL_NUMERIC_PRECISION``: ``exact`` → None, a positive integer → that many digits."""
    raw = (os.environ.get(PRECISION_ENV) or "").strip().lower()
    if not raw:
        return default
    if raw == "exact":
        return None
    if raw.isdigit() and 1 <= int(raw) <= 17:
        return int(raw)
    raise ValueError(f"{PRECISION_ENV}={raw!r}: expected 'exact' or a number of significant digits (1-17)")


def private_columns_from_env() -> tuple[str, ...]:
    raw = os.environ.get(PRIVATE_COLUMNS_ENV) or ""
    return tuple(c.strip() for c in raw.split(",") if c.strip())


def fingerprint_key() -> bytes:
    """The deployment's fingerprint key (see the module docstring); created on first use."""
    explicit = os.environ.get(FINGERPRINT_KEY_ENV)
    if explicit:
        return explicit.encode()
    home = os.environ.get("DAGSTER_HOME")
    base = Path(home).expanduser() if home else Path(__file__).resolve().parents[2] / ".dagster_home"
    path = base / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    base.mkdir(parents=True, exist_ok=True)
    part = base / f".{KEY_FILE}.{os.getpid()}"
    part.write_text(secrets.token_hex(32))
    part.chmod(0o600)
    try:
        os.link(part, path)  # atomic: of two processes creating it at once, one key wins
    except FileExistsError:
        pass
    finally:
        part.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())
