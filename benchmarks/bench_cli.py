"""Wall time of `obs` commands on the demo store, whole process (start-up and imports included).

    python benchmarks/bench_cli.py                      # runs `obs demo --no-ui` into a temp home first
    python benchmarks/bench_cli.py --home ~/.dagster    # an existing demo home (lineage.db, outbox)
    python benchmarks/bench_cli.py --runs 9 --json
    python benchmarks/bench_cli.py --home ~/.dagster --quick   # smoke: 1 run each, no validate figure
    git archive HEAD lineage observability_pipelines | tar -x -C /tmp/before
    python benchmarks/bench_cli.py --home ~/.dagster --baseline /tmp/before   # before/after pairs, same run

Each command runs `--runs` times after one warm-up, alternating with the same-run baselines
(`python -c pass`, `obs --help`, and with `--baseline TREE` the same command run from TREE, whose
`lineage`/`observability_pipelines` packages are then imported instead of this tree's), medians reported.
Children keep their bytecode caches (in a private PYTHONPYCACHEPREFIX, the warm-up writes them), as an
installed `obs` does; `--no-pyc` keeps the environment's PYTHONDONTWRITEBYTECODE instead, where set: then
every start compiles this project's modules again (+0.04–0.07 s CPU of a lineage command under load).
Targets (issue 18): `obs lineage …`, `obs rca …`, `obs incidents …`, `obs outbox status` ≤ 0.5 s;
`obs expectations validate` on 1,575 rows ≤ 1 s beyond `import great_expectations` (measured in the same run).
`--profile` adds the heaviest imports of each command (`python -X importtime`): where the remaining time goes.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
OBS = [PY, "-m", "observability_pipelines.cli"]
ROOT = Path(__file__).resolve().parents[1]  # this tree: `python -m` run from here imports its packages
TARGET_S = 0.5
VALIDATE_EXTRA_S = 1.0
COMMANDS = {
    "lineage upstream": ["lineage", "upstream", "training_set"],
    "lineage columns": ["lineage", "columns", "training_set", "loan_to_income"],
    "lineage path": ["lineage", "path", "raw_customers", "training_set"],
    "lineage history": ["lineage", "history", "training_set"],
    "lineage datasets": ["lineage", "datasets"],
    "rca": ["rca", "training_set", "--partition", "2026-03-05"],
    "incidents list": ["incidents", "list"],
    "outbox status": ["outbox", "status"],
}


def wall(name: str, cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    start, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    CPU_S.setdefault(name, []).append(_children_cpu() - cpu)
    return time.perf_counter() - start


CPU_S: dict[str, list[float]] = {}  # by command name, the children's user + system seconds of each run
MEDIAN_CPU: dict[str, float] = {}  # by command name, the warm-up left out


def _children_cpu() -> float:
    # CPU time beside wall: under load (2 cores shared) wall is several times CPU, which moves less.
    # getrusage, not os.times(): the latter counts whole clock ticks (10 ms, a fifth of a change looked for).
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def medians(cmds: dict[str, list[str]], env: dict[str, str], runs: int,
            cwds: dict[str, Path] | None = None) -> dict[str, float]:
    """Median wall seconds of each command, the commands interleaved run by run (drift hits all alike);
    `cwds`: where a command runs, when not from this tree."""
    cwds = cwds or {}
    for name, cmd in cmds.items():
        wall(name, cmd, env, cwds.get(name, ROOT))  # warm-up: file cache, .pyc
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            times[name].append(wall(name, cmd, env, cwds.get(name, ROOT)))
    MEDIAN_CPU.update({name: statistics.median(CPU_S[name][1:]) for name in cmds})
    return {name: statistics.median(t) for name, t in times.items()}


BEFORE = "before: "  # the prefix of a command run from the --baseline tree


def child_env(home: Path, pyc: bool) -> dict[str, str]:
    env = {**os.environ, "DAGSTER_HOME": str(home), "OBS_LINEAGE_DB": "", "TTY_COMPATIBLE": "0"}
    if pyc:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = prefix = tempfile.mkdtemp(prefix="bench_cli_pyc_")  # out of the source tree
        atexit.register(shutil.rmtree, prefix, True)
    return env


def command_set(baseline: Path | None) -> tuple[dict[str, list[str]], dict[str, Path]]:
    """The commands to time (each command of COMMANDS twice with --baseline) and where they run."""
    cmds = {"baseline: python -c pass": [PY, "-c", "pass"], "baseline: obs --help": [*OBS, "--help"]}
    cwds: dict[str, Path] = {}
    for name, args in COMMANDS.items():
        if baseline is not None:
            cmds[BEFORE + name] = [*OBS, *args]
            cwds[BEFORE + name] = baseline
        cmds[name] = [*OBS, *args]
    return cmds, cwds


def demo_home(home: str | None) -> Path:
    if home:
        return Path(home).expanduser()
    path = Path(tempfile.mkdtemp(prefix="bench_cli_"))
    print(f"building the demo store in {path} (obs demo --no-ui, a few minutes)...", file=sys.stderr)
    subprocess.run([*OBS, "demo", "--no-ui"], env={**os.environ, "DAGSTER_HOME": str(path), "OBS_LINEAGE_DB": ""},
                   stdout=subprocess.DEVNULL, check=True)
    return path


def validation_file(directory: Path, rows: int = 1575) -> Path:
    from observability_pipelines.data.generator import GeneratorConfig, generate_partition

    frame = generate_partition("2026-03-05", GeneratorConfig(customers_per_day=rows))["customers"].head(rows)
    path = directory / "customers.parquet"
    frame.to_parquet(path, index=False)
    return path


def heaviest_imports(args: list[str], env: dict[str, str], top: int = 8) -> list[tuple[str, float]]:
    result = subprocess.run([PY, "-X", "importtime", "-m", "observability_pipelines.cli", *args], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    found = []
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            if len(name) - len(name.lstrip()) <= 3:  # top-level imports and their direct children
                found.append((name.strip(), int(parts[1]) / 1e6))
    return sorted(found, key=lambda f: -f[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", help="DAGSTER_HOME of an existing demo run (default: run the demo)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 run each, no validate figure")
    parser.add_argument("--baseline", type=Path, help="a tree holding the previous lineage/ and "
                        "observability_pipelines/ (git archive): each command also runs from there, interleaved")
    parser.add_argument("--no-pyc", action="store_true", help="keep the environment's PYTHONDONTWRITEBYTECODE")
    opts = parser.parse_args()
    if opts.quick:
        opts.runs = 1
    home = demo_home(opts.home)
    env = child_env(home, pyc=not opts.no_pyc)
    cmds, cwds = command_set(opts.baseline)
    results = medians(cmds, env, opts.runs, cwds)
    ge = validate_figures(env, opts) if not opts.quick else {}
    cpu = dict(MEDIAN_CPU)
    report = {"home": str(home), "runs": opts.runs, "median_wall_s": {**results, **ge}, "median_cpu_s": cpu,
              "load_1min": os.getloadavg()[0], "bytecode_cache": not opts.no_pyc and "private prefix",
              "verdicts": {}}
    for name in COMMANDS:
        report["verdicts"][name] = "pass" if results[name] <= TARGET_S else "FAIL"
    if ge:
        extra = ge["expectations validate"] - ge["import great_expectations"]
        report["validate_beyond_ge_import_s"] = extra
        report["validate_beyond_ge_import_cpu_s"] = cpu["expectations validate"] - cpu["import great_expectations"]
        report["verdicts"]["expectations validate"] = "pass" if extra <= VALIDATE_EXTRA_S else "FAIL"
    if opts.baseline is not None:
        report["after_over_before"] = {name: {"wall": results[name] / results[BEFORE + name],
                                              "cpu": cpu[name] / max(cpu[BEFORE + name], 1e-9)} for name in COMMANDS}
    if opts.profile:
        report["heaviest_imports_s"] = {name: heaviest_imports(COMMANDS[name], env) for name in COMMANDS}
    if opts.json:
        print(json.dumps(report, indent=2))
        return
    print_report(report, results, ge, cpu)


def validate_figures(env: dict[str, str], opts: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data = validation_file(Path(tmp))
        ge = medians({"import great_expectations": [PY, "-c", "import great_expectations"],
                      "expectations validate": [*OBS, "expectations", "validate", "raw_customers", str(data),
                                                "--partition", "2026-03-05"]}, env, max(3, opts.runs // 2))
    return ge


def print_report(report: dict, results: dict[str, float], ge: dict[str, float], cpu: dict[str, float]) -> None:
    print(f"load (1 min) {report['load_1min']:.2f}; bytecode cache: {report['bytecode_cache'] or 'as the environment'}")
    print(f"{'command':32} {'median wall s':>14} {'median CPU s':>13}  verdict (target, wall)")
    for name, seconds in {**results, **ge}.items():
        verdict = report["verdicts"].get(name, "")
        target = f"(≤ {TARGET_S} s)" if name in COMMANDS else ""
        cpu_s = f"{cpu[name]:13.3f}" if name in cpu else " " * 13
        print(f"{name:32} {seconds:14.3f} {cpu_s}  {verdict} {target}")
    if ge:
        print(f"validate beyond the GE import: {report['validate_beyond_ge_import_s']:.3f} s  "
              f"{report['verdicts']['expectations validate']} (≤ {VALIDATE_EXTRA_S} s); CPU "
              f"{report['validate_beyond_ge_import_cpu_s']:.3f} s")
    for name, ratio in report.get("after_over_before", {}).items():
        print(f"{name}: after/before wall {ratio['wall']:.2f}, CPU {ratio['cpu']:.2f}")
    for name, heavy in report.get("heaviest_imports_s", {}).items():
        print(f"{name}: " + ", ".join(f"{module} {seconds:.2f}" for module, seconds in heavy))


if __name__ == "__main__":
    main()
