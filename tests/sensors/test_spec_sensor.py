"""The spec sensor, one scenario per test, the way the daemon calls it.

Each tick builds a sensor context on a real (temporary) instance with the previous tick's cursor and
applies the tick's partition requests to the instance afterwards, as the daemon does, so the next tick
sees the partitions that exist.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest

from resources.env_vars import EnvVarError
from resources.project import ProjectResource
from sensors import spec_sensor
from sensors.spec_sensor import (
    DEFAULT_INTERVAL_S,
    INTERVAL_ENV,
    JOB_ENV,
    SPEC_PATH_TAG,
    SPEC_SHA_TAG,
    build_spec_sensor,
    spec_sensor_from_env,
)
from spec2prod_assets.definitions import defs
from spec2prod_assets.pipeline.executors import ASYNC_EXECUTION, SYNC_EXECUTION
from spec2prod_assets.pipeline.partitions import specs_partitions
from spec2prod_assets.run_mode import MODE_REASON_TAG, MODE_TAG
from spec2prod_assets.spec.model import ComponentSpec, Stage

PARTITIONS = "specs"
# The package exports the sensor under the module's own name, so reach the module itself this way.
spec_sensor_module = importlib.import_module("sensors.spec_sensor")


def spec_text(
    name: str, *, slug: str | None = None, requirement: str = "It works.", stage: str | None = None
) -> str:
    component_id = f"**Component ID:** {slug}\n" if slug else ""
    target = f"**Target Stage:** {stage}\n" if stage else ""
    return f"# {name}\n\n{component_id}{target}\n## Requirements\n- FR-1: {requirement}\n"


BROKEN_SPEC = "# Broken\n\n**Target Stage:** moon\n\n## Requirements\n- FR-1: Never parses.\n"


@dataclass
class Tick:
    result: dg.SensorResult
    logs: list[tuple[str, str]]

    @property
    def cursor(self) -> str:
        assert self.result.cursor is not None
        return self.result.cursor

    @property
    def entries(self) -> dict[str, dict[str, object]]:
        specs: dict[str, dict[str, object]] = json.loads(self.cursor)["specs"]
        return specs

    @property
    def partition_keys(self) -> list[str | None]:
        return [request.partition_key for request in self.result.run_requests or []]

    @property
    def job_names(self) -> list[str | None]:
        return [request.job_name for request in self.result.run_requests or []]

    @property
    def run_keys(self) -> list[str | None]:
        return [request.run_key for request in self.result.run_requests or []]

    @property
    def added_partitions(self) -> list[str]:
        return [
            key
            for request in self.result.dynamic_partitions_requests or []
            if isinstance(request, dg.AddDynamicPartitionsRequest)
            for key in request.partition_keys
        ]

    @property
    def skip_message(self) -> str:
        assert self.result.skip_reason is not None
        return self.result.skip_reason.skip_message or ""

    def logged(self, level: str) -> str:
        return "\n".join(message for logged_level, message in self.logs if logged_level == level)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname, record.getMessage()))


@dataclass
class Project:
    """A temporary project plus an instance; `tick()` runs the sensor like the daemon would."""

    root: Path
    instance: dg.DagsterInstance
    sensor: dg.SensorDefinition = field(default_factory=build_spec_sensor)
    cursor: str | None = None

    def write(self, relative: str, text: str, *, just_now: bool = False) -> Path:
        """Write a spec; saved a minute ago (stable at once) unless `just_now` (still being written)."""
        path = self.root / "specs" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not just_now:
            a_minute_ago = time.time() - 60
            os.utime(path, (a_minute_ago, a_minute_ago))
        return path

    def tick(self) -> Tick:
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={"project": ProjectResource(root=str(self.root))},
            definitions=defs,
        )
        collector = _Collect()
        context.log.addHandler(collector)
        result = self.sensor(context)
        assert isinstance(result, dg.SensorResult)
        for request in result.dynamic_partitions_requests or []:
            assert isinstance(request, dg.AddDynamicPartitionsRequest)
            self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        self.cursor = result.cursor
        return Tick(result, collector.records)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with dg.instance_for_test() as instance:
        yield Project(root=tmp_path / "project", instance=instance)


@pytest.fixture
def two_specs(project: Project) -> Project:
    project.write("calculator.md", spec_text("Calculator"))
    project.write("text_stats.md", spec_text("Text Stats"))
    return project


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every spec file the sensor parses from now on (it still parses them for real)."""
    parsed: list[Path] = []
    real_parse = spec_sensor_module.parse_spec

    def parse(spec_file: Path, project_root: Path) -> ComponentSpec:
        parsed.append(spec_file)
        return real_parse(spec_file, project_root)

    monkeypatch.setattr(spec_sensor_module, "parse_spec", parse)
    return parsed


def file_sha(project: Project, relative: str) -> str:
    """The sha256 of a spec's bytes, computed here rather than trusted from the sensor's cursor."""
    return hashlib.sha256((project.root / relative).read_bytes()).hexdigest()


def run_key(project: Project, slug: str, relative: str) -> str:
    return f"{slug}:{file_sha(project, relative)[:16]}"


def test_first_tick_requests_one_run_and_one_partition_per_spec(two_specs: Project) -> None:
    tick = two_specs.tick()

    assert tick.partition_keys == ["calculator", "text_stats"]
    assert tick.run_keys == [
        run_key(two_specs, "calculator", "specs/calculator.md"),
        run_key(two_specs, "text_stats", "specs/text_stats.md"),
    ]
    assert tick.added_partitions == ["calculator", "text_stats"]
    first = (tick.result.run_requests or [])[0]
    assert {key: first.tags[key] for key in (SPEC_PATH_TAG, SPEC_SHA_TAG)} == {
        SPEC_PATH_TAG: "specs/calculator.md",
        SPEC_SHA_TAG: file_sha(two_specs, "specs/calculator.md"),
    }
    assert tick.entries == {
        path: {"sha": file_sha(two_specs, path), "slug": slug, "stage": "staging", "requested": True}
        for path, slug in [("specs/calculator.md", "calculator"), ("specs/text_stats.md", "text_stats")]
    }


def test_tick_with_nothing_new_requests_nothing_and_parses_nothing(
    two_specs: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = two_specs.tick()
    parsed = count_parses(monkeypatch)

    tick = two_specs.tick()

    assert tick.result.run_requests == []
    assert tick.added_partitions == []
    assert tick.cursor == first.cursor
    assert parsed == []
    assert tick.skip_message == "No new or changed specs among 2."


def test_changed_spec_requests_one_run_with_a_new_run_key(two_specs: Project) -> None:
    first = two_specs.tick()
    two_specs.write("calculator.md", spec_text("Calculator", requirement="It adds."))

    tick = two_specs.tick()

    assert tick.partition_keys == ["calculator"]
    assert tick.run_keys == [run_key(two_specs, "calculator", "specs/calculator.md")]
    assert tick.run_keys[0] not in first.run_keys
    assert tick.added_partitions == []  # the partition exists already
    assert tick.entries["specs/text_stats.md"] == first.entries["specs/text_stats.md"]
    assert "Spec specs/calculator.md changed: requesting spec_to_staging for partition" in tick.logged("INFO")


def test_touched_but_unchanged_spec_does_not_run(two_specs: Project) -> None:
    two_specs.tick()
    path = two_specs.root / "specs" / "calculator.md"
    path.write_bytes(path.read_bytes())  # new mtime, same content

    assert two_specs.tick().result.run_requests == []


def test_added_spec_requests_a_run_and_a_partition_for_it_alone(two_specs: Project) -> None:
    two_specs.tick()
    two_specs.write("nested/word_wrap.md", spec_text("Word Wrap"))

    tick = two_specs.tick()

    assert tick.partition_keys == ["word_wrap"]
    assert tick.run_keys == [run_key(two_specs, "word_wrap", "specs/nested/word_wrap.md")]
    assert tick.added_partitions == ["word_wrap"]
    assert set(tick.entries) == {"specs/calculator.md", "specs/text_stats.md", "specs/nested/word_wrap.md"}
    assert two_specs.instance.get_dynamic_partitions(PARTITIONS) == ["calculator", "text_stats", "word_wrap"]


def test_broken_spec_beside_good_ones_runs_the_good_ones_and_names_the_file_and_error(
    two_specs: Project,
) -> None:
    two_specs.write("broken.md", BROKEN_SPEC)

    tick = two_specs.tick()

    assert tick.partition_keys == ["calculator", "text_stats"]
    assert tick.added_partitions == ["calculator", "text_stats"]
    assert "unknown target stage 'moon'" in str(tick.entries["specs/broken.md"]["error"])
    assert "slug" not in tick.entries["specs/broken.md"]
    assert "Broken spec, no run until it changes: specs/broken.md:3: unknown target stage" in tick.logged(
        "WARNING"
    )


def test_broken_spec_alone_skips_the_tick_with_the_reason(project: Project) -> None:
    project.write("broken.md", BROKEN_SPEC)

    tick = project.tick()

    assert tick.result.run_requests == []
    assert "Broken (fix the file to retry): specs/broken.md:3: unknown target stage 'moon'" in (
        tick.skip_message
    )


def test_broken_spec_is_not_parsed_again_until_it_changes(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("broken.md", BROKEN_SPEC)
    project.tick()
    parsed = count_parses(monkeypatch)

    unchanged = project.tick()
    project.write("broken.md", spec_text("Fixed"))
    fixed = project.tick()

    assert parsed == [project.root / "specs" / "broken.md"]  # only after the edit
    assert unchanged.logged("WARNING") == ""  # reported once, on the tick that found it
    assert "specs/broken.md" in unchanged.skip_message  # but every skipped tick still says why
    assert fixed.partition_keys == ["fixed"]


def test_duplicate_slug_runs_neither_and_says_why(two_specs: Project) -> None:
    two_specs.write("calculator_copy.md", spec_text("Calculator v2", slug="calculator"))

    tick = two_specs.tick()

    assert tick.partition_keys == ["text_stats"]
    assert tick.added_partitions == ["text_stats"]
    assert tick.entries["specs/calculator.md"]["requested"] is False
    assert tick.entries["specs/calculator_copy.md"]["requested"] is False
    assert (
        "Slug 'calculator' is claimed by specs/calculator.md and specs/calculator_copy.md: neither runs"
        in tick.logged("WARNING")
    )
    assert "slug 'calculator' is claimed by" in two_specs.tick().skip_message


def test_removing_one_of_two_duplicates_lets_the_other_run_unchanged(two_specs: Project) -> None:
    two_specs.write("calculator_copy.md", spec_text("Calculator v2", slug="calculator"))
    two_specs.tick()
    (two_specs.root / "specs" / "calculator_copy.md").unlink()

    tick = two_specs.tick()

    assert tick.partition_keys == ["calculator"]
    assert tick.run_keys == [run_key(two_specs, "calculator", "specs/calculator.md")]
    assert "Spec specs/calculator.md no longer shares its slug" in tick.logged("INFO")


def test_deleted_spec_is_reported_and_forgotten_while_its_partition_stays(two_specs: Project) -> None:
    two_specs.tick()
    (two_specs.root / "specs" / "calculator.md").unlink()

    tick = two_specs.tick()

    assert tick.result.run_requests == []
    assert set(tick.entries) == {"specs/text_stats.md"}
    assert "Spec specs/calculator.md was deleted (slug 'calculator')" in tick.logged("INFO")
    assert "Deleted (partition and history kept): specs/calculator.md." in tick.skip_message
    assert two_specs.instance.get_dynamic_partitions(PARTITIONS) == ["calculator", "text_stats"]


def test_bulk_import_beyond_the_parse_budget_requests_runs_for_what_each_tick_parsed(
    project: Project,
) -> None:
    project.sensor = build_spec_sensor(parse_budget_s=0.0)  # parse one spec per tick
    for name in ("Alpha", "Beta", "Gamma"):
        project.write(f"{name.lower()}.md", spec_text(name))

    ticks = [project.tick() for _ in range(4)]

    assert [tick.partition_keys for tick in ticks] == [["alpha"], ["beta"], ["gamma"], []]
    assert "Parsed 1 of 3 new or changed specs" in ticks[0].logged("INFO")
    assert ticks[3].skip_message == "No new or changed specs among 3."


def test_unreadable_cursor_reads_every_spec_again_with_the_same_run_keys(two_specs: Project) -> None:
    first = two_specs.tick()
    two_specs.cursor = "not json"

    tick = two_specs.tick()

    assert tick.run_keys == first.run_keys  # Dagster launches a run key only once
    assert "Ignoring an unreadable sensor cursor" in tick.logged("WARNING")


def test_missing_specs_folder_skips_and_names_it(project: Project) -> None:
    tick = project.tick()

    assert tick.skip_message == f"No spec files (*.md) under {project.root / 'specs'}."
    assert tick.entries == {}


def test_without_a_project_every_tick_is_skipped_with_one_line_saying_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no specs/ here or above, and no SPEC2PROD_PROJECT_ROOT
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, cursor="kept", resources={"project": ProjectResource()}, definitions=defs
        )
        result = build_spec_sensor()(context)

    assert isinstance(result, dg.SensorResult) and result.skip_reason is not None
    reason = result.skip_reason.skip_message or ""
    assert reason.startswith(f"No project: {tmp_path} and the folders above it hold no specs/ folder")
    assert "\n" not in reason
    assert result.cursor == "kept"


def test_code_location_runs_the_sensor_by_default_for_every_stage_job() -> None:
    sensor = defs.resolve_sensor_def("spec_sensor")

    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert [target.job_name for target in sensor.targets] == [
        "spec_to_dev",
        "spec_to_staging",
        "spec_to_production",
    ]
    assert sensor.minimum_interval_seconds == DEFAULT_INTERVAL_S
    assert specs_partitions.name == PARTITIONS


def test_a_dev_spec_launches_spec_to_dev(project: Project) -> None:
    project.write("calculator.md", spec_text("Calculator", stage="dev"))

    tick = project.tick()

    assert tick.job_names == ["spec_to_dev"]
    assert tick.entries["specs/calculator.md"]["stage"] == "dev"
    assert "requesting spec_to_dev for partition 'calculator' (target stage dev)." in tick.logged("INFO")


def test_a_production_spec_launches_spec_to_production(project: Project) -> None:
    project.write("calculator.md", spec_text("Calculator", stage="production"))

    assert project.tick().job_names == ["spec_to_production"]


def test_each_spec_in_one_tick_launches_the_job_of_its_own_target_stage(project: Project) -> None:
    for name, stage in (("Alpha", "production"), ("Beta", "dev"), ("Gamma", "staging")):
        project.write(f"{name.lower()}.md", spec_text(name, stage=stage))

    tick = project.tick()

    assert list(zip(tick.partition_keys, tick.job_names, strict=True)) == [
        ("alpha", "spec_to_production"),
        ("beta", "spec_to_dev"),
        ("gamma", "spec_to_staging"),
    ]


def test_a_staging_cap_lowers_production_specs_and_leaves_dev_specs_alone(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(JOB_ENV, "spec_to_staging")
    project.sensor = spec_sensor_from_env()
    project.write("calculator.md", spec_text("Calculator", stage="production"))
    project.write("text_stats.md", spec_text("Text Stats", stage="dev"))

    tick = project.tick()

    assert tick.job_names == ["spec_to_staging", "spec_to_dev"]
    assert [target.job_name for target in project.sensor.targets] == ["spec_to_dev", "spec_to_staging"]
    assert (
        "requesting spec_to_staging for partition 'calculator' (target stage production, capped at "
        "staging by SPEC2PROD_SENSOR_JOB)." in tick.logged("INFO")
    )
    assert tick.entries["specs/calculator.md"]["stage"] == "production"  # the spec's own, not the cap


def test_a_cap_of_dev_never_launches_further_than_dev(project: Project) -> None:
    project.sensor = build_spec_sensor(max_stage=Stage.DEV)
    project.write("calculator.md", spec_text("Calculator", stage="production"))

    assert project.tick().job_names == ["spec_to_dev"]


def test_a_spec_freed_from_a_duplicate_slug_runs_to_its_own_target_stage(project: Project) -> None:
    project.write("calculator.md", spec_text("Calculator", stage="dev"))
    project.write("calculator_copy.md", spec_text("Calculator v2", slug="calculator", stage="production"))
    project.tick()
    (project.root / "specs" / "calculator_copy.md").unlink()

    tick = project.tick()

    assert (tick.partition_keys, tick.job_names) == (["calculator"], ["spec_to_dev"])


def test_a_cursor_from_before_target_stages_reads_every_spec_again_with_the_same_run_keys(
    two_specs: Project,
) -> None:
    first = two_specs.tick()
    old = json.loads(first.cursor)
    old["version"] = 1
    for entry in old["specs"].values():
        del entry["stage"]
    two_specs.cursor = json.dumps(old)

    tick = two_specs.tick()

    assert tick.run_keys == first.run_keys  # Dagster launches a run key only once: nothing runs twice
    assert "Ignoring an unreadable sensor cursor (cursor version is not 2)" in tick.logged("WARNING")


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (INTERVAL_ENV, "30s", "SPEC2PROD_SENSOR_INTERVAL_S='30s': must be a whole number of seconds >= 1"),
        (INTERVAL_ENV, "0", "SPEC2PROD_SENSOR_INTERVAL_S='0': must be a whole number of seconds >= 1"),
        (
            JOB_ENV,
            "prod",
            "SPEC2PROD_SENSOR_JOB='prod': must be one of spec_to_dev, spec_to_staging, spec_to_production",
        ),
    ],
    ids=["unit-suffix", "zero", "unknown-job"],
)
def test_a_malformed_sensor_variable_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, line: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(EnvVarError) as caught:
        spec_sensor_from_env()

    assert str(caught.value) == line


def test_the_interval_variable_sets_the_least_time_between_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INTERVAL_ENV, " 5 ")

    assert spec_sensor_from_env().minimum_interval_seconds == 5


def test_importing_the_sensor_module_reads_no_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INTERVAL_ENV, "30s")
    monkeypatch.setenv(JOB_ENV, "prod")

    importlib.reload(spec_sensor_module)  # a command importing it for other reasons must not fail


def test_half_written_spec_whose_prefix_parses_does_not_run_until_it_is_stable(project: Project) -> None:
    full = spec_text("Calculator") + "- FR-2: It divides.\n"
    project.write("calculator.md", spec_text("Calculator"), just_now=True)  # a prefix that parses

    while_writing = project.tick()
    project.write("calculator.md", full, just_now=True)  # the writer finishes
    just_finished = project.tick()
    stable = project.tick()

    assert while_writing.result.run_requests == []
    assert "Still being written (read once unchanged): specs/calculator.md" in while_writing.skip_message
    assert while_writing.entries["specs/calculator.md"]["pending"] is True
    assert just_finished.result.run_requests == []
    assert stable.run_keys == [run_key(project, "calculator", "specs/calculator.md")]
    assert stable.entries["specs/calculator.md"]["sha"] == hashlib.sha256(full.encode()).hexdigest()


def test_spec_unchanged_since_it_was_last_seen_runs_on_the_second_look(project: Project) -> None:
    project.write("calculator.md", spec_text("Calculator"), just_now=True)

    first, second = project.tick(), project.tick()

    assert first.result.run_requests == []
    assert second.partition_keys == ["calculator"]
    assert "Spec specs/calculator.md is new: requesting spec_to_staging" in second.logged("INFO")


def test_non_utf8_file_name_is_skipped_with_a_clear_reason(two_specs: Project) -> None:
    bad_name = os.fsencode(two_specs.root / "specs") + b"/caf\xe9.md"
    with open(bad_name, "w", encoding="utf-8") as handle:
        handle.write(spec_text("Cafe"))
    os.utime(bad_name, (time.time() - 60, time.time() - 60))

    tick = two_specs.tick()
    again = two_specs.tick()

    assert tick.partition_keys == ["calculator", "text_stats"]
    assert "specs/caf\\xe9.md: the file name is not valid UTF-8; rename it" in tick.logged("WARNING")
    assert again.logged("WARNING") == ""  # said once
    assert "not valid UTF-8" in again.skip_message
    json.dumps(json.loads(tick.cursor))  # the cursor stays valid JSON


@pytest.mark.parametrize(
    "broken",
    [
        "---\nname: X\ncreated: 2024-02-30\nrequirements: [a]\n---\n",
        "---\nname: X\nbuild: !!int abc\nrequirements: [a]\n---\n",
        "---\nname: X\na: &a ["
        + ",".join(["x" * 50] * 9)
        + "]\n"
        + "".join(
            f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True)
        )
        + "stage: *h\nrequirements: [a]\n---\n",
    ],
    ids=["february-30", "int-tag-on-text", "alias-bomb"],
)
def test_crashing_spec_is_reported_and_the_good_ones_still_run(two_specs: Project, broken: str) -> None:
    two_specs.write("broken.md", broken)

    started = time.perf_counter()
    tick = two_specs.tick()

    assert time.perf_counter() - started < 5
    assert tick.partition_keys == ["calculator", "text_stats"]
    error = str(tick.entries["specs/broken.md"]["error"])
    assert error.startswith("specs/broken.md:")
    assert len(error) < 400
    assert len(tick.cursor) < 2000


@pytest.mark.slow  # writing 10,000 files takes most of its 20 s
def test_ten_thousand_new_specs_request_runs_on_the_first_tick(project: Project) -> None:
    specs = project.root / "specs"
    specs.mkdir(parents=True)
    a_minute_ago = time.time() - 60
    for number in range(10_000):
        path = specs / f"c{number:05d}.md"
        path.write_text(spec_text(f"C{number:05d}"), encoding="utf-8")
        os.utime(path, (a_minute_ago, a_minute_ago))

    first = project.tick()

    assert first.partition_keys  # runs for what the first tick parsed
    assert first.partition_keys[0] == "c00000"
    assert len(first.partition_keys) < 10_000


@pytest.mark.parametrize(
    ("openhands_url", "cores", "mode"),
    [("", 2, "sync"), ("http://127.0.0.1:9", 2, "async"), ("", 4, "async")],
    ids=["crosshair-on-2-cores", "remote-agent", "crosshair-on-4-cores"],
)
def test_runs_get_the_executor_auto_mode_chooses_and_say_why(
    two_specs: Project, monkeypatch: pytest.MonkeyPatch, openhands_url: str, cores: int, mode: str
) -> None:
    monkeypatch.setenv("OPENHANDS_URL", openhands_url)
    monkeypatch.setattr(spec_sensor, "usable_cores", lambda: cores)

    first = (two_specs.tick().result.run_requests or [])[0]

    assert first.tags[MODE_TAG] == mode
    assert first.tags[MODE_REASON_TAG].startswith("auto: ")
    assert first.run_config["execution"] == (SYNC_EXECUTION if mode == "sync" else ASYNC_EXECUTION)
