"""The front matter's JSON Schema: generated from the one declaration the parser's keys also come from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from spec2prod_assets.spec.model import ComponentSpec, QualityGates
from spec2prod_assets.spec.parser import parse_spec_text
from spec2prod_assets.spec.schema import KEY_SPELLINGS, KEYS, SpecFrontMatter, spec_json_schema
from tests.conftest import REPO_ROOT

SPECS = sorted((REPO_ROOT / "examples/demo/specs").glob("*.md"))
FORMAT_DOC = REPO_ROOT / "docs" / "spec-format.md"
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def front_matter_of(spec_file: Path) -> dict[str, Any]:
    text = spec_file.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    loaded = yaml.safe_load(text.split("---\n")[1])
    assert isinstance(loaded, dict)
    return loaded


def accepts(schema: dict[str, Any], key: str, value: Any) -> bool:
    """The top-level rules a key meets: a property by name (of one of its types), or an x- pattern."""
    properties = schema["properties"]
    if key not in properties:
        return any(re.search(pattern, key) for pattern in schema["patternProperties"])
    prop = properties[key]
    if "$ref" in prop:
        prop = schema["$defs"][prop["$ref"].rsplit("/", 1)[1]]
    types = [option["type"] for option in prop.get("anyOf", [prop]) if "type" in option]
    matches = any(
        isinstance(value, JSON_TYPES[kind]) and not (kind != "boolean" and isinstance(value, bool))
        for kind in types
    )
    return matches and ("enum" not in prop or value in prop["enum"])


def test_the_schema_is_draft_2020_12_and_closed() -> None:
    schema = spec_json_schema()

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False


def test_every_key_and_alias_the_parser_reads_is_a_property_and_nothing_else() -> None:
    properties = spec_json_schema()["properties"]

    assert set(properties) == {words.replace(" ", "_") for words in KEY_SPELLINGS}
    assert set(KEYS) <= set(properties)
    assert properties["source_dir"]["description"] == "Same as 'source_path'."


def test_every_property_has_a_description_and_defaults_are_the_models() -> None:
    properties = spec_json_schema()["properties"]

    assert all(prop.get("description") for prop in properties.values())
    assert properties["coverage_threshold"]["default"] == QualityGates().coverage_threshold_pct
    assert properties["lint_clean"]["default"] is False
    assert properties["target_stage"]["default"] == ComponentSpec.model_fields["target_stage"].default.value
    assert "default" not in properties["tests_path"]


@pytest.mark.parametrize("spec_file", SPECS, ids=lambda path: path.name)
def test_the_bundled_specs_front_matter_meets_the_schema(spec_file: Path) -> None:
    schema = spec_json_schema()
    data = front_matter_of(spec_file)

    SpecFrontMatter.model_validate(data)
    assert all(accepts(schema, key, value) for key, value in data.items())


def test_an_unknown_key_meets_no_rule_of_the_schema() -> None:
    schema = spec_json_schema()

    assert not accepts(schema, "coverge_threshold", 95)
    assert accepts(schema, "x-jira", "BILL-12")
    assert not accepts(schema, "coverage_kind", "path")


def test_the_parser_reads_each_spelling_in_the_schema() -> None:
    for spelling, key in KEY_SPELLINGS.items():
        if key in ("name", "requirements"):
            continue
        value = {
            "slug": "calc",
            "target_stage": "dev",
            "coverage_threshold": "90",
            "coverage_kind": "branch",
            "lint_clean": "true",
            "mutation_score": "60%",
            "criteria_tested": "true",
            "allow_no_tests": "true",
            "dependencies": "[attrs]",
            "acceptance_criteria": "[works]",
            "api": "['f()']",
        }.get(key, "lib/calc")
        text = f"---\nname: Calc\nrequirements: [a]\n{spelling.replace(' ', '_')}: {value}\n---\n"
        assert parse_spec_text(text, spec_path="specs/x.md").name == "Calc", spelling


def test_the_format_doc_lists_every_key_with_its_aliases() -> None:
    rows = re.findall(r"^\| `(\w+)` \|([^|]*)\|", FORMAT_DOC.read_text(encoding="utf-8"), re.MULTILINE)
    documented = {key: set(re.findall(r"`(\w+)`", aliases)) for key, aliases in rows}

    assert list(documented) == list(KEYS)
    for key, aliases in documented.items():
        assert aliases == {s.replace(" ", "_") for s, k in KEY_SPELLINGS.items() if k == key} - {key}, key


def test_the_format_docs_examples_parse() -> None:
    examples = re.findall(r"```markdown\n(.*?)```", FORMAT_DOC.read_text(encoding="utf-8"), re.DOTALL)

    specs = [parse_spec_text(example, spec_path="specs/x.md") for example in examples]

    assert [spec.slug for spec in specs] == ["text_stats", "calculator"]
    assert all(spec.dependencies and spec.owners for spec in specs)
