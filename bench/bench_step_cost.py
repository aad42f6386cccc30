"""What one step boundary costs under Dagster's executors, phase by phase (a benchmark, not a test).

    .venv/bin/python bench/bench_step_cost.py [--repeat 3] [--skip-real] [--skip-probe]

Three parts, each in a fresh interpreter, on a temporary instance with telemetry off:
- floor: throwaway jobs of empty assets shaped like (a) the 8 steps before issue 12 and (b) 4 steps
  ([spec+baseline] → {generated ∥ refactored} → [release..report]), run with `execute_job(reconstructable)`
  in-process, multiprocess (forkserver, max_concurrent 2) and multiprocess with a wider forkserver preload,
  alternating; every multiprocess run starts its own forkserver, as every `spec2prod run` does;
- real: the real `spec_to_dev` job on copies of examples/demo: sync, async, async preloaded (one each);
- probe: where a worker's launch goes (imports, instance from its ref, job reconstruction, one event).
From each run's event log it prints per-step phases (medians over the repeats):
  gap        previous STEP_SUCCESS (or RUN_START) → the step's first event: the executor's polling/scheduling
  launch     STEP_WORKER_STARTING → STEP_WORKER_STARTED: a forked process, unpickling, instance from ref
  plan       STEP_WORKER_STARTED → RESOURCE_INIT_STARTED: job reconstruction, execution plan
  resources  RESOURCE_INIT_STARTED → RESOURCE_INIT_SUCCESS
  start      → STEP_START (log capture)
  inputs     STEP_START → last LOADED_INPUT
  work       the rest up to the last HANDLED_OUTPUT, less `outputs`
  outputs    Σ STEP_OUTPUT → HANDLED_OUTPUT (IO manager + the materialization event)
  finish     last HANDLED_OUTPUT → STEP_SUCCESS (asset checks)
In-process steps have no worker, so no launch, plan, resources or start (resources are set up once per
run). Numbers depend on machine load: compare the columns of one run.
"""

import argparse
import multiprocessing
import multiprocessing.forkserver
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

BENCH_DIR = Path(__file__).resolve().parent
EXAMPLE = BENCH_DIR.parent / "examples" / "demo"
# This file, imported by name in workers: bench/ is sys.path[0] when it runs as a script.
MODULE = "bench_step_cost"
# What a worker imports to open the instance (SQLAlchemy, Alembic, Dagster's storage and daemon modules):
# about 500 modules that neither `import dagster` nor the job's module pulls in, so by default every worker
# imports them again after the fork.
STORAGE_MODULES = ["dagster._core.storage.sqlite_storage"]


def multiprocess(preload: list[str] | None = None) -> dict[str, Any]:
    """The pipeline's async executor config (`executors.ASYNC_EXECUTION`), optionally with a forkserver
    preload."""
    forkserver = {"preload_modules": preload} if preload else {}
    return {"multiprocess": {"max_concurrent": 2, "start_method": {"forkserver": forkserver}}}


EXECUTORS: dict[str, dict[str, Any]] = {
    "in_process": {"in_process": {}},
    "multiprocess": multiprocess(),
    "mp+preload": multiprocess([MODULE, *STORAGE_MODULES]),
}
PHASES = ("gap", "launch", "plan", "resources", "start", "inputs", "work", "outputs", "finish")
BOUNDARY = ("gap", "launch", "plan", "resources", "start")  # what a step pays before any of its own code

# Each stage's inputs, as the real assets take them (fewer where the real one also reads resources only).
EIGHT_STEPS: dict[str, tuple[str, ...]] = {
    "spec": (),
    "baseline_tests": ("spec",),
    "generated_tests": ("spec", "baseline_tests"),
    "refactored_code": ("spec", "baseline_tests"),
    "release_candidate": ("spec", "refactored_code", "generated_tests"),
    "staging_deployment": ("spec", "release_candidate"),
    "production_deployment": ("spec", "release_candidate", "staging_deployment"),
    "workflow_report": ("production_deployment",),
}
HEAD = ("spec", "baseline_tests")
TAIL = ("release_candidate", "staging_deployment", "production_deployment", "workflow_report")


def _empty_asset(name: str, inputs: tuple[str, ...]) -> dg.AssetsDefinition:
    """An asset that passes a small value through the default IO manager and does no work."""

    @dg.asset(name=name, ins={upstream: dg.AssetIn(upstream) for upstream in inputs})
    def _asset(context: dg.AssetExecutionContext, **_: Any) -> str:
        return name

    return _asset


def _empty_multi_asset(name: str, outputs: tuple[str, ...], inputs: tuple[str, ...]) -> dg.AssetsDefinition:
    """Several assets in one step: each still gets its own output, IO and materialization event."""

    @dg.multi_asset(
        name=name,
        outs={key: dg.AssetOut() for key in outputs},
        ins={upstream: dg.AssetIn(upstream) for upstream in inputs},
    )
    def _assets(context: dg.AssetExecutionContext, **_: Any) -> Iterator[dg.Output[str]]:
        for key in outputs:
            yield dg.Output(key, output_name=key)

    return _assets


EIGHT_STEP_DEFS = dg.Definitions(
    assets=[_empty_asset(name, inputs) for name, inputs in EIGHT_STEPS.items()],
    jobs=[dg.define_asset_job("eight_step", selection=list(EIGHT_STEPS))],
)
FOUR_STEP_DEFS = dg.Definitions(
    assets=[
        _empty_multi_asset("spec_and_baseline", HEAD, ()),
        _empty_asset("generated_tests", HEAD),
        _empty_asset("refactored_code", HEAD),
        _empty_multi_asset("release_and_deploy", TAIL, ("spec", "refactored_code", "generated_tests")),
    ],
    jobs=[dg.define_asset_job("four_step", selection=[*HEAD, "generated_tests", "refactored_code", *TAIL])],
)
SHAPES = {"8-step": "eight_step_job", "4-step": "four_step_job"}


def eight_step_job() -> dg.JobDefinition:
    """Today's graph: spec → baseline → {generated ∥ refactored} → release → staging → production → report."""
    return EIGHT_STEP_DEFS.resolve_job_def("eight_step")


def four_step_job() -> dg.JobDefinition:
    """The merged graph: [spec+baseline] → {generated ∥ refactored} → [release..report]."""
    return FOUR_STEP_DEFS.resolve_job_def("four_step")


def step_phases(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, float]]:
    """Per step, seconds spent in each of PHASES, from the run's stored events (their own timestamps)."""
    first: dict[tuple[str, str], float] = {}
    last: dict[tuple[str, str], float] = {}
    output_io: dict[str, float] = defaultdict(float)
    pending_output: dict[str, float] = {}
    successes: list[float] = []
    run_start = 0.0
    first_seen: dict[str, float] = {}
    for record in instance.get_records_for_run(run_id, limit=100_000).records:
        entry = record.event_log_entry
        if entry.dagster_event is None:
            continue
        kind, step, at = entry.dagster_event.event_type_value, entry.step_key, entry.timestamp
        if kind == "PIPELINE_START":
            run_start = at
        if step is None:
            continue
        first.setdefault((step, kind), at)
        last[(step, kind)] = at
        if kind not in ("ASSET_MATERIALIZATION_PLANNED", "ASSET_CHECK_EVALUATION_PLANNED"):
            first_seen.setdefault(step, at)
        if kind == "STEP_OUTPUT":
            pending_output[step] = at
        elif kind == "HANDLED_OUTPUT" and step in pending_output:
            output_io[step] += at - pending_output.pop(step)
        elif kind == "STEP_SUCCESS":
            successes.append(at)
    phases = {}
    for step, seen in sorted(first_seen.items(), key=lambda item: item[1]):
        if (step, "STEP_SUCCESS") not in first:
            continue
        when = first.get
        begun = when((step, "STEP_START"), seen)
        freed_by = max((s for s in successes if s <= seen), default=run_start or seen)
        worker = when((step, "STEP_WORKER_STARTED"))
        init, ready = when((step, "RESOURCE_INIT_STARTED")), when((step, "RESOURCE_INIT_SUCCESS"))
        inputs_done = last.get((step, "LOADED_INPUT"), begun)
        outputs_done = last.get((step, "HANDLED_OUTPUT"), inputs_done)
        phase = dict.fromkeys(PHASES, 0.0)
        phase["gap"] = seen - freed_by
        if worker is not None:
            phase["launch"] = worker - seen
            phase["plan"] = (init or begun) - worker
            phase["resources"] = (ready - init) if init and ready else 0.0
            phase["start"] = begun - (ready or worker)
        phase["inputs"] = inputs_done - begun
        phase["outputs"] = output_io[step]
        phase["work"] = outputs_done - inputs_done - output_io[step]
        phase["finish"] = first[(step, "STEP_SUCCESS")] - outputs_done
        phases[step] = phase
    return phases


def run_span(instance: dg.DagsterInstance, run_id: str) -> tuple[float, int]:
    """RUN_START → RUN_SUCCESS in seconds, and how many events the run stored."""
    records = instance.get_records_for_run(run_id, limit=100_000).records
    stamps = {r.event_log_entry.dagster_event_type: r.event_log_entry.timestamp for r in records}
    start, end = stamps.get(dg.DagsterEventType.RUN_START), stamps.get(dg.DagsterEventType.RUN_SUCCESS)
    return ((end - start) if start and end else float("nan")), len(records)


def print_phase_table(title: str, rows: dict[str, dict[str, float]]) -> None:
    """One row per step, one column per phase, in milliseconds; a last row of totals."""
    totals = {p: sum(phase[p] for phase in rows.values()) for p in PHASES}
    print(f"\n{title}\n{'step':<24}" + "".join(f"{p:>10}" for p in (*PHASES, "boundary")))
    for step, phase in [*rows.items(), ("Σ (ms)", totals)]:
        values = [*(phase[p] for p in PHASES), sum(phase[p] for p in BOUNDARY)]
        print(f"{step:<24}" + "".join(f"{value * 1000:10.0f}" for value in values))


def quiet_home(root: Path) -> Path:
    """A fresh DAGSTER_HOME with spec2prod's instance config (telemetry off, workers' DEBUG lines off)."""
    from spec2prod_assets.workflow import QUIET_INSTANCE_CONFIG

    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(QUIET_INSTANCE_CONFIG)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def fresh_forkserver() -> None:
    """Stop this process's forkserver, so the next multiprocess run starts one with its own preload list,
    as every `spec2prod run` (and every run worker `dagster dev` launches) does. Private API, stdlib only."""
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    if server is not None and hasattr(server, "_stop"):
        server._stop()


RunSample = tuple[float, float, dict[str, dict[str, float]]]  # execute_job s, RUN_START→SUCCESS s, phases


def run_floor(repeat: int) -> None:
    """Both graph shapes under each executor, alternating; prints per-step medians and the ratios."""
    instance = dg.DagsterInstance.get()
    quiet, here = {"console": {"config": {"log_level": "ERROR"}}}, str(BENCH_DIR)

    def one_run(shape: str, executor: str) -> RunSample:
        job = dg.build_reconstructable_job(MODULE, SHAPES[shape], reconstructor_working_directory=here)
        run_config = {"execution": {"config": EXECUTORS[executor]}, "loggers": quiet}
        fresh_forkserver()
        called = time.perf_counter()
        result = dg.execute_job(job, instance=instance, run_config=run_config)
        call_s = time.perf_counter() - called
        if not result.success:
            raise SystemExit(f"{shape} {executor} run {result.run_id} failed")
        return call_s, run_span(instance, result.run_id)[0], step_phases(instance, result.run_id)

    runs: dict[tuple[str, str], list[RunSample]] = defaultdict(list)
    for round_number in range(1, repeat + 1):
        for shape in SHAPES:
            for executor in EXECUTORS:
                sample = one_run(shape, executor)
                runs[(shape, executor)].append(sample)
                label = f"round {round_number} {shape} {executor:<12}"
                print(f"{label}: execute_job {sample[0]:6.2f}s  RUN_START→RUN_SUCCESS {sample[1]:6.2f}s")

    calls: dict[tuple[str, str], float] = {}
    for (shape, executor), samples in runs.items():
        medians = {
            step: {p: statistics.median(s[2][step][p] for s in samples) for p in PHASES}
            for step in samples[0][2]
        }
        print_phase_table(f"{shape} / {executor}: median ms per step over {len(samples)} runs", medians)
        calls[(shape, executor)] = statistics.median(s[0] for s in samples)
        span = statistics.median(s[1] for s in samples)
        print(f"execute_job {calls[(shape, executor)]:.2f}s  RUN_START→RUN_SUCCESS {span:.2f}s")
    print("\nmedian execute_job seconds, and ratios")
    for executor in EXECUTORS:
        four, eight = calls[("4-step", executor)], calls[("8-step", executor)]
        print(f"{executor:<13} 8-step {eight:6.2f}s  4-step {four:6.2f}s  4-step/8-step {four / eight:.2f}")
    for shape in SHAPES:
        base = calls[(shape, "in_process")]
        print(
            f"{shape}: multiprocess/in_process {calls[(shape, 'multiprocess')] / base:.2f}  "
            f"mp+preload/in_process {calls[(shape, 'mp+preload')] / base:.2f}"
        )


def run_real(scratch: Path, spec: str) -> None:
    """The real `spec_to_dev` job on copies of the bundled example: sync, async as configured, and async with
    the definitions and the storage modules preloaded in the forkserver (patched in this process only)."""
    import spec2prod_assets.pipeline.executors as executors
    import spec2prod_assets.workflow as workflow
    from spec2prod_assets.report.timings import ExecutionMode

    as_configured = executors.ASYNC_EXECUTION
    preloaded = {"config": multiprocess(["spec2prod_assets.definitions", *STORAGE_MODULES])}
    instance = dg.DagsterInstance.get()
    variants: tuple[tuple[str, ExecutionMode, dict[str, Any]], ...] = (
        ("sync", "sync", as_configured),
        ("async", "async", as_configured),
        ("async+preload", "async", preloaded),
    )
    for label, mode, execution in variants:
        project = scratch / label
        shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".spec2prod", "__pycache__"))
        executors.ASYNC_EXECUTION = execution
        fresh_forkserver()
        started = time.perf_counter()
        result = workflow.run_workflow(project / "specs" / f"{spec}.md", "dev", mode, log_level="ERROR")
        wall = time.perf_counter() - started
        span, events = run_span(instance, result.run_id)
        title = f"real spec_to_dev ({spec}, {label}), success={result.success}"
        print_phase_table(title, step_phases(instance, result.run_id))
        print(f"run_workflow {wall:.2f}s  RUN_START→RUN_SUCCESS {span:.2f}s  {events} events", flush=True)
    executors.ASYNC_EXECUTION = as_configured


def _probe_worker(queue: Any, instance_ref: Any, recon_args: tuple[str, str, tuple[object]]) -> None:
    """Inside a forkserver worker: time what a step's worker does before its step starts."""
    entered, loaded = time.time(), len(sys.modules)
    timings: dict[str, float] = {"entered": entered}
    instance = dg.DagsterInstance.from_ref(instance_ref)
    timings["instance"] = time.time() - entered
    timings["instance_modules"] = float(len(sys.modules) - loaded)
    mark, loaded = time.time(), len(sys.modules)
    module, function, args = recon_args
    dg.build_reconstructable_job(module, function, reconstructable_args=args).get_definition()
    timings["job"] = time.time() - mark
    timings["job_modules"] = float(len(sys.modules) - loaded)
    mark = time.time()
    for _ in range(10):
        instance.report_engine_event("bench_step_cost probe", run_id="bench-probe", job_name="probe")
    timings["event"] = (time.time() - mark) / 10
    instance.dispose()
    queue.put(timings)


def print_import_times(target: str) -> None:
    """`python -X importtime -c "import target"` in a fresh interpreter: the total and the largest parts."""
    argv = [sys.executable, "-X", "importtime", "-c", f"import {target}"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    rows = [line.split("|") for line in done.stderr.splitlines() if line.startswith("import time:")][1:]
    cumulative = [(int(row[1]), row[2].rstrip()) for row in rows]
    total = sum(us for us, name in cumulative if not name.startswith("  "))
    direct = [(us, name.strip()) for us, name in cumulative if name.startswith("   ") and name[3] != " "]
    nested = sorted(entry for entry in direct if not entry[1].startswith("__editable__"))
    largest = ", ".join(f"{name} {us / 1e6:.2f}s" for us, name in reversed(nested[-6:]))
    print(f"import {target}: {total / 1e6:.2f}s; largest direct imports: {largest}", flush=True)


def run_probe(repeat: int) -> None:
    """Per-worker launch anatomy of the real job: the forkserver preload Dagster picks, then a wider one."""
    for target in ("dagster", "dagster._core.storage.sqlite_storage", "spec2prod_assets.definitions"):
        print_import_times(target)
    instance = dg.DagsterInstance.get()
    context = multiprocessing.get_context("forkserver")
    recon_args = ("spec2prod_assets.workflow", "job_by_name", ("spec_to_dev",))
    preloads = {
        "default": ["spec2prod_assets.workflow"],  # what the executor derives from the job's module
        "preloaded": ["spec2prod_assets.definitions", *STORAGE_MODULES],
    }
    for label, preload in preloads.items():
        fresh_forkserver()
        context.set_forkserver_preload(["dagster._core.executor.multiprocess", *preload])
        queue = context.Queue()
        for attempt in range(repeat + 1):
            launched = time.time()
            worker = context.Process(target=_probe_worker, args=(queue, instance.get_ref(), recon_args))
            worker.start()
            timings = queue.get(timeout=300)
            worker.join()
            state = "cold forkserver" if attempt == 0 else f"warm {attempt}"
            print(
                f"{label:<9} {state:<15}: start→worker {(timings['entered'] - launched) * 1000:5.0f} ms  "
                f"instance from ref {timings['instance'] * 1000:5.0f} ms ({timings['instance_modules']:.0f} "
                f"modules)  job {timings['job'] * 1000:5.0f} ms ({timings['job_modules']:.0f} modules)  "
                f"event {timings['event'] * 1000:3.0f} ms  worker {(time.time() - launched) * 1000:5.0f} ms",
                flush=True,
            )


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spec", default="calculator")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-probe", action="store_true")
    parser.add_argument("--part", choices=["floor", "real", "probe"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows while it runs

    if args.part is None:  # each part in a fresh interpreter: nothing imported by one part helps another
        parts = ["floor", *([] if args.skip_real else ["real"]), *([] if args.skip_probe else ["probe"])]
        for part in parts:
            print(f"\n==== {part} ====", flush=True)
            options = ["--part", part, "--repeat", str(args.repeat), "--spec", args.spec]
            subprocess.run([sys.executable, __file__, *options], check=True)
        return

    scratch = Path(tempfile.mkdtemp(prefix="spec2prod-step-cost-"))
    try:
        quiet_home(scratch)
        if args.part == "floor":
            run_floor(args.repeat)
        elif args.part == "real":
            run_real(scratch, args.spec)
        else:
            run_probe(args.repeat)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
