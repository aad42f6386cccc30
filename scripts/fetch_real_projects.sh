#!/usr/bin/env bash
# Fetch what tests/real_projects needs and no test may download: two real open-source projects (their
# sdists, which carry their own test suites) and the wheel of the greeter fixture's one dependency.
#
# Pinned versions, each checked against its sha256 (pip's --require-hashes, then again before use), so a
# changed upload is refused rather than tested. Results live in the checkout, git-ignored:
#   .cache/real-projects/<name>/   a ready project folder (the sdist unpacked, build leftovers removed)
#   .cache/wheelhouse/             wheels for offline component environments (UV_FIND_LINKS, UV_OFFLINE)
# Idempotent and silent when everything is already there, so `make test` can run it every time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache/real-projects"
WHEELHOUSE="$ROOT/.cache/wheelhouse"
PIP=("${PYTHON:-$ROOT/.venv/bin/python}" -m pip)

# name  version  sdist file  sha256
PROJECTS=(
    "inflection 0.5.1 inflection-0.5.1.tar.gz 1a29730d366e996aaacffb2f1f1cb9593dc38e2ddd30c91250c6dde09ea9b417"
    "cachetools 8.0.2 cachetools-8.0.2.tar.gz 30ac523adfc118b51d2b2e7bad8a0ddb31370dfe2700c7f10ca224f36ccf81e0"
)
# name  version  wheel file  sha256
WHEELS=(
    "humanize 4.17.0 humanize-4.17.0-py3-none-any.whl 02d0899527760efe18011944f882df4970943b4cdff7b5a0ba7fed43a576ef98"
)

has_sha256() {  # FILE SHA256: true when the file exists with exactly that content
    [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]
}

download() {  # KIND(sdist|wheel) NAME VERSION FILE SHA256 DESTINATION
    local kind="$1" name="$2" version="$3" file="$4" sha="$5" destination="$6" format
    if has_sha256 "$destination/$file" "$sha"; then
        return 0
    fi
    format=(--no-binary :all:)
    [[ "$kind" == "wheel" ]] && format=(--only-binary :all:)
    mkdir -p "$destination"
    local requirement
    requirement="$(mktemp)"
    printf '%s==%s --hash=sha256:%s\n' "$name" "$version" "$sha" >"$requirement"
    echo "fetch_real_projects: downloading $file"
    if ! "${PIP[@]}" download --quiet --no-deps "${format[@]}" --require-hashes -r "$requirement" \
        -d "$destination" >&2; then
        rm -f "$requirement"
        echo "fetch_real_projects: could not download $file with sha256 $sha (pip says why above)" >&2
        exit 1
    fi
    rm -f "$requirement"
    if ! has_sha256 "$destination/$file" "$sha"; then
        echo "fetch_real_projects: $file does not have sha256 $sha; refusing it" >&2
        rm -f "$destination/$file"
        exit 1
    fi
}

is_ready() {  # NAME SHA256: the project folder was unpacked from exactly that sdist
    [[ -f "$CACHE/$1/.fetched-sha256" ]] && [[ "$(cat "$CACHE/$1/.fetched-sha256")" == "$2" ]]
}

unpack() {  # NAME FILE SHA256: the sdist as a ready project folder, replacing an older pin's
    local name="$1" file="$2" sha="$3" project="$CACHE/$1" staging
    staging="$(mktemp -d "$CACHE/.unpack-$name.XXXXXX")"
    chmod 755 "$staging"
    tar -xzf "$CACHE/downloads/$file" -C "$staging" --strip-components=1 --no-same-owner
    # What a build left in the sdist is no part of the project as its authors keep it.
    find "$staging" \( -name '*.egg-info' -o -name '__pycache__' \) -prune -exec rm -rf {} +
    find "$staging" -name '*.pyc' -delete
    echo "$sha" >"$staging/.fetched-sha256"
    rm -rf "$project"
    mv "$staging" "$project"
    echo "fetch_real_projects: $name ready in $project"
}

mkdir -p "$CACHE/downloads" "$WHEELHOUSE"
for entry in "${PROJECTS[@]}"; do
    read -r name version file sha <<<"$entry"
    is_ready "$name" "$sha" && continue
    download sdist "$name" "$version" "$file" "$sha" "$CACHE/downloads"
    unpack "$name" "$file" "$sha"
done
for entry in "${WHEELS[@]}"; do
    read -r name version file sha <<<"$entry"
    download wheel "$name" "$version" "$file" "$sha" "$WHEELHOUSE"
done
