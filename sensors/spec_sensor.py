"""The spec sensor: a spec dropped into or edited in `<project>/specs/` starts a run for it.

Each tick hashes every `specs/**/*.md` (sha256 of the bytes: editors and `git checkout` touch mtimes
without changing anything) and parses only the files whose hash differs from the cursor, so a tick
over a thousand unchanged specs costs a few file reads and no parsing. The cursor is JSON, one entry
per spec path: its hash and either the slug and target stage it parsed to or the error it failed with.

What happens to a spec:
- new or changed and unique: its partition is added and one run is requested, of the job for the spec's
  own `target_stage` (dev: spec_to_dev, staging: spec_to_staging, production: spec_to_production), with
  `run_key = "<slug>:<hash prefix>"`, so Dagster never runs the same content twice (also after a lost
  cursor, a revert or a rename). An operator's cap ($SPEC2PROD_SENSOR_JOB) may stop specs short of
  their target, never take one further: a spec that says dev never reaches production from a tick;
- broken: no run, the tick says which file and why, and it is not parsed again until it changes;
- its slug also claimed by another spec: neither runs, and the tick says why (logged when it
  appears, and in the skip reason of every tick that runs nothing) until one is renamed or removed;
  then the remaining one runs, unchanged;
- deleted: the tick reports it and forgets the file; its partition and run history stay.

A spec is only read once it is stable: its last change is at least `quiet_s` old, or it had the same
content on the previous tick (it is then `pending` in the cursor meanwhile), so a half-written spec whose
prefix happens to parse never starts a run. A file name that is not valid UTF-8 is reported and
skipped (Dagster rejects such a tag), and a file that is not a regular file is never opened.

Parsing costs milliseconds per spec, so a bulk import of thousands of specs is spread over ticks by a
parse budget; runs are requested for what each tick parsed, at once, so the first run of a bulk import
starts on the first tick. The price: a duplicate slug whose twin is only parsed on a later tick lets the
first one run; from then on neither runs again until one is renamed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import dagster as dg

from resources.env_vars import EnvVarError, env_choice, env_int
from resources.generators import generator_is_remote
from resources.project import ProjectResource, ProjectRootError
from sensors.spec_cursor import MAX_CURSOR_ERROR_CHARS, SpecEntry, read_cursor, write_cursor
from sensors.spec_looks import look, name_problem
from spec2prod_assets.pipeline.executors import execution_config
from spec2prod_assets.pipeline.jobs import (
    ALL_JOBS,
    EXECUTOR_PROFILE,
    JOB_FOR_STAGE,
    STAGE_FOR_JOB,
    capped_stage,
)
from spec2prod_assets.pipeline.partitions import specs_partitions
from spec2prod_assets.run_mode import choose_mode
from spec2prod_assets.runtime.processes import usable_cores
from spec2prod_assets.spec.model import SpecError, Stage, clipped
from spec2prod_assets.spec.parser import find_spec_files, parse_spec

JOB_ENV = "SPEC2PROD_SENSOR_JOB"  # the furthest job the sensor may launch (a cap, not a target)
INTERVAL_ENV = "SPEC2PROD_SENSOR_INTERVAL_S"
# A tick over 1,000 unchanged specs costs about 36 ms (bench/bench_sensor.py): a new spec starts in seconds.
DEFAULT_INTERVAL_S = 5
DEFAULT_PARSE_BUDGET_S = 0.25  # seconds of parsing per tick; keeps a bulk-import tick well under 1 s
DEFAULT_QUIET_S = 2.0  # a spec changed more recently than this waits for the next tick to look again
RUN_KEY_HASH_CHARS = 16
SPEC_PATH_TAG = "spec2prod/spec_path"
SPEC_SHA_TAG = "spec2prod/spec_sha256"
_LISTED_PROBLEMS = 5  # a skip reason names this many problems of a kind, then counts the rest


@dataclass(frozen=True)
class PlannedRun:
    slug: str
    spec_path: str
    sha: str
    stage: Stage  # how far this run goes: the spec's target stage, lowered to the cap if there is one

    @property
    def job_name(self) -> str:
        return JOB_FOR_STAGE[self.stage]

    @property
    def run_key(self) -> str:
        return f"{self.slug}:{self.sha[:RUN_KEY_HASH_CHARS]}"


@dataclass
class TickPlan:
    """The outcome of one tick, before it is turned into Dagster objects (so it is testable alone)."""

    entries: dict[str, SpecEntry]
    runs: list[PlannedRun] = field(default_factory=list)
    new_partitions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    changed: int = 0
    deferred: int = 0
    waiting: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)

    def skip_reason(self, specs_dir: Path) -> str:
        """Why nothing runs, naming every standing problem so any tick in the UI answers "why not?"."""
        if not self.entries and not self.deleted:
            return f"No spec files (*.md) under {specs_dir}."
        if self.deferred:
            head = (
                f"Parsed {self.changed - self.deferred} of {self.changed} new or changed specs within the "
                "parse budget; runs are requested once all are parsed."
            )
        elif self.changed:
            head = f"{self.changed} new or changed spec(s), none runnable."
        else:
            head = f"No new or changed specs among {len(self.entries)}."
        broken = [entry.error or path for path, entry in self.entries.items() if entry.error is not None]
        duplicated = [
            f"slug {slug!r} is claimed by {', '.join(paths)}: neither runs"
            for slug, paths in self.duplicates.items()
        ]
        parts = [
            head,
            _listing("Still being written (read once unchanged)", self.waiting),
            _listing("Broken (fix the file to retry)", broken),
            _listing("Duplicate slugs (rename or remove one)", duplicated),
            _listing("Deleted (partition and history kept)", self.deleted),
        ]
        return " ".join(part for part in parts if part)


def plan_tick(
    project_root: Path,
    previous: Mapping[str, SpecEntry],
    known_partitions: Iterable[str],
    *,
    parse_budget_s: float = DEFAULT_PARSE_BUDGET_S,
    clock: Callable[[], float] = time.perf_counter,
    quiet_s: float = DEFAULT_QUIET_S,
    now: Callable[[], float] = time.time,
    max_stage: Stage = Stage.PRODUCTION,
) -> TickPlan:
    """Compare the specs on disk with the cursor and decide which runs and partitions to request.

    Each run goes to its spec's target stage, or to `max_stage` if that is nearer.
    """
    files = {_spec_key(path, project_root): path for path in find_spec_files(project_root)}
    plan = TickPlan(entries={})
    changed: list[tuple[str, str]] = []
    for key, path in files.items():
        entry = previous.get(key)
        bad_name = name_problem(key)
        if bad_name is not None:
            plan.entries[key] = SpecEntry(sha="", error=bad_name)
            if entry is None or entry.error != bad_name:
                plan.warnings.append(f"Skipping a spec: {bad_name}")
            continue
        sha, stable = look(path, project_root, now(), quiet_s)
        if entry is not None and entry.sha == sha and not entry.pending:
            plan.entries[key] = entry
        elif stable or (entry is not None and entry.pending and entry.sha == sha):
            changed.append((key, sha))
        else:
            plan.entries[key] = SpecEntry(sha=sha, pending=True)
            plan.waiting.append(key)
            plan.infos.append(
                f"Spec {key} changed less than {quiet_s:g} s ago; it is read once it is unchanged."
            )
    plan.changed = len(changed)

    started = clock()
    for index, (key, sha) in enumerate(changed):
        if index > 0 and clock() - started > parse_budget_s:
            plan.deferred = len(changed) - index
            # Keep the old entry (if any) so the next tick still sees this file as changed, not new.
            plan.entries.update(
                {k: previous[k] for k, _ in changed[index:] if k in previous and not previous[k].pending}
            )
            break
        plan.entries[key] = _parse_entry(files[key], project_root, sha)
        entry = plan.entries[key]
        if entry.error is not None:
            plan.warnings.append(f"Broken spec, no run until it changes: {entry.error}")

    for key in sorted(previous.keys() - files.keys()):
        gone = previous[key]
        plan.deleted.append(key)
        what = f"slug {gone.slug!r}" if gone.slug else "it did not parse"
        plan.infos.append(f"Spec {key} was deleted ({what}); its partition and run history are kept.")

    if plan.deferred:
        plan.infos.append(
            f"Parsed {plan.changed - plan.deferred} of {plan.changed} new or changed specs within "
            f"{parse_budget_s:g} s; runs for these now, the other {plan.deferred} on the next ticks."
        )

    claims: dict[str, list[str]] = {}
    for key, entry in sorted(plan.entries.items()):
        if entry.slug is not None:
            claims.setdefault(entry.slug, []).append(key)
    changed_keys = {key for key, _ in changed}
    known = set(known_partitions)
    for slug, paths in claims.items():
        if len(paths) > 1:
            plan.duplicates[slug] = paths
            if changed_keys.intersection(paths):
                plan.warnings.append(
                    f"Slug {slug!r} is claimed by {' and '.join(paths)}: neither runs until one is "
                    "renamed or removed."
                )
            continue
        key = paths[0]
        entry = plan.entries[key]
        if entry.requested:
            continue
        assert entry.stage is not None  # a parsed entry always has one (SpecEntry.from_json checks)
        plan.entries[key] = replace(entry, requested=True)
        run = PlannedRun(slug=slug, spec_path=key, sha=entry.sha, stage=capped_stage(entry.stage, max_stage))
        plan.runs.append(run)
        if key not in previous or previous[key].pending:
            status = "is new"
        elif key in changed_keys:
            status = "changed"
        else:
            status = "no longer shares its slug"
        capped = f", capped at {max_stage.value} by {JOB_ENV}" if run.stage != entry.stage else ""
        plan.infos.append(
            f"Spec {key} {status}: requesting {run.job_name} for partition {slug!r} "
            f"(target stage {entry.stage.value}{capped})."
        )
        if slug not in known:
            plan.new_partitions.append(slug)
    return plan


def build_spec_sensor(
    max_stage: Stage = Stage.PRODUCTION,
    minimum_interval_seconds: int = DEFAULT_INTERVAL_S,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
    *,
    parse_budget_s: float = DEFAULT_PARSE_BUDGET_S,
    quiet_s: float = DEFAULT_QUIET_S,
    name: str = "spec_sensor",
) -> dg.SensorDefinition:
    """A spec sensor that takes each spec to its target stage, at most `max_stage`; running by
    default so `dagster dev` reacts to specs at once."""
    reachable = list(Stage)[: list(Stage).index(max_stage) + 1]
    jobs = [job for job in ALL_JOBS if STAGE_FOR_JOB[job.name] in reachable]
    limit = "" if max_stage == Stage.PRODUCTION else f", at most {JOB_FOR_STAGE[max_stage]}"

    @dg.sensor(
        name=name,
        jobs=jobs,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=(
            "Runs each new or changed spec in the project's specs/ folder once, with the job of the "
            f"spec's target_stage (dev: spec_to_dev, staging: spec_to_staging, production: "
            f"spec_to_production{limit})."
        ),
    )
    def _spec_sensor(context: dg.SensorEvaluationContext, project: ProjectResource) -> dg.SensorResult:
        try:
            root = project.root_path
        except (ProjectRootError, EnvVarError) as exc:
            # Said on every tick, in one line; the cursor is kept for when the project is there.
            return dg.SensorResult(skip_reason=str(exc), cursor=context.cursor)
        previous, cursor_problem = read_cursor(context.cursor)
        if cursor_problem:
            context.log.warning(cursor_problem)
        assert specs_partitions.name is not None
        plan = plan_tick(
            root,
            previous,
            context.instance.get_dynamic_partitions(specs_partitions.name),
            parse_budget_s=parse_budget_s,
            quiet_s=quiet_s,
            max_stage=max_stage,
        )
        for message in plan.warnings:
            context.log.warning(message)
        for message in plan.infos:
            context.log.info(message)
        cursor = write_cursor(plan.entries)
        if not plan.runs:
            return dg.SensorResult(skip_reason=plan.skip_reason(root / "specs"), cursor=cursor)
        # The executor from what the runs will do, as `spec2prod run` picks it ("auto"; `run_mode`).
        mode = choose_mode(
            "auto",
            remote_generator=generator_is_remote(),
            cores=usable_cores(),
            executor=EXECUTOR_PROFILE.kind,
        )
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=run.run_key,
                    job_name=run.job_name,
                    partition_key=run.slug,
                    run_config={"execution": execution_config(mode.mode, EXECUTOR_PROFILE)},
                    tags={SPEC_PATH_TAG: run.spec_path, SPEC_SHA_TAG: run.sha, **mode.tags()},
                )
                for run in plan.runs
            ],
            dynamic_partitions_requests=(
                [specs_partitions.build_add_request(plan.new_partitions)] if plan.new_partitions else []
            ),
            cursor=cursor,
        )

    return _spec_sensor


def spec_sensor_from_env() -> dg.SensorDefinition:
    """The code location's sensor: `$SPEC2PROD_SENSOR_INTERVAL_S` between ticks (30 s unless set) and
    `$SPEC2PROD_SENSOR_JOB` as the furthest job it launches (none unless set).

    Read when the code location loads, not when this module is imported, so a malformed value stops only
    what uses the sensor, with `EnvVarError`'s one line.
    """
    cap = env_choice(JOB_ENV, tuple(JOB_FOR_STAGE.values()))
    interval = env_int(INTERVAL_ENV, at_least=1, unit="seconds")
    return build_spec_sensor(
        max_stage=STAGE_FOR_JOB[cap] if cap else Stage.PRODUCTION,
        minimum_interval_seconds=interval or DEFAULT_INTERVAL_S,
    )


def _spec_key(path: Path, project_root: Path) -> str:
    """The cursor key: the path as specs report it (`specs/x.md`), stable when the root moves."""
    return path.relative_to(project_root).as_posix()


def _parse_entry(path: Path, project_root: Path, sha: str) -> SpecEntry:
    try:
        spec = parse_spec(path, project_root)
    except SpecError as exc:
        return SpecEntry(sha=sha, error=clipped(str(exc), MAX_CURSOR_ERROR_CHARS))
    # The parser hashes the bytes it read; if the file changed in between, its hash is the truth.
    return SpecEntry(sha=spec.spec_sha256, slug=spec.slug, stage=spec.target_stage)


def _listing(title: str, items: list[str]) -> str:
    if not items:
        return ""
    shown = "; ".join(items[:_LISTED_PROBLEMS])
    more = f"; and {len(items) - _LISTED_PROBLEMS} more" if len(items) > _LISTED_PROBLEMS else ""
    return f"{title}: {shown}{more}."
