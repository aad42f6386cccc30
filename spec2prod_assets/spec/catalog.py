"""Find the spec behind a partition key: partitions are component slugs, specs are files."""

from __future__ import annotations

from pathlib import Path

from spec2prod_assets.spec.model import ComponentSpec, SpecError
from spec2prod_assets.spec.parser import find_spec_files, parse_spec


def locate_spec(project_root: Path, slug: str) -> ComponentSpec:
    """The one spec under `project_root/specs` whose slug is `slug`.

    Every spec is parsed (milliseconds each), so two specs claiming one slug are caught rather than
    one silently winning. A broken spec elsewhere does not hide the one asked for, but is named when
    nothing matches, since it may be the one meant.
    """
    matches: list[ComponentSpec] = []
    problems: list[str] = []
    for spec_file in find_spec_files(project_root):
        try:
            spec = parse_spec(spec_file, project_root)
        except SpecError as exc:
            problems.append(str(exc))
            continue
        if spec.slug == slug:
            matches.append(spec)
    if len(matches) > 1:
        paths = ", ".join(m.spec_path for m in matches)
        raise SpecError(paths, f"{len(matches)} specs share the slug {slug!r}; rename one")
    if matches:
        return matches[0]
    hint = ("; specs that failed to parse: " + " | ".join(problems)) if problems else ""
    raise SpecError(str(project_root / "specs"), f"no spec with slug {slug!r}{hint}")


def project_root_of(path: Path) -> Path | None:
    """The project `path` belongs to, or None: what commands use when no `--project-root` is given.

    A spec file belongs to the folder that holds its nearest `specs` ancestor (`specs/team/x.md` too); a
    folder, such as the current one, to the nearest folder, itself or above, that holds a `specs/` folder.
    Paths are made absolute but links are not resolved, so the root keeps the name the user sees.
    """
    absolute = path.absolute()
    if absolute.is_dir():
        return next((folder for folder in (absolute, *absolute.parents) if (folder / "specs").is_dir()), None)
    return next((folder.parent for folder in absolute.parents if folder.name == "specs"), None)
