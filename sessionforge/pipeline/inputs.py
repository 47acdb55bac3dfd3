"""Turn the command line's INPUT arguments into an ordered list of repositories.

An INPUT is a repository (work tree or bare), a directory searched recursively for
repositories, a URL (cloned later), or a manifest file (``.csv``, ``.parquet``,
``.jsonl``) with a ``path`` or ``url`` column and optional ``license``, ``language``
and ``stars``. The order of the result is the dataset's order: arguments in the order
given, directories in sorted order, manifest rows in file order. A bad manifest is a
user error (exit 1); a path that is not a repository is only an error row, because a
batch job over thousands of repositories must not stop for one of them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from sessionforge.pipeline.config import FilterConfig
from sessionforge.errors import SessionforgeError

MANIFEST_SUFFIXES = (".csv", ".parquet", ".jsonl", ".ndjson")
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[\w.-]+@[\w.-]+:")


class ManifestError(SessionforgeError):
    """An input manifest cannot be read or lacks the needed columns."""

    def __init__(self, path: str | Path, cause: str, row: int | None = None) -> None:
        where = f"{path}" + (f", row {row}" if row is not None else "")
        super().__init__(f"{where}: {cause}")
        self.path, self.cause, self.row = str(path), cause, row


@dataclass(frozen=True)
class RepoSpec:
    """One repository to build: where it is and what we know about it."""

    identity: str                 # stable name: the URL, or the resolved absolute path
    path: str | None = None       # local repository (work tree or bare)
    url: str | None = None        # to be cloned into the cache
    license: str | None = None
    language: str | None = None
    stars: int | None = None


@dataclass(frozen=True)
class InputError:
    """An INPUT that yielded no repository (missing path, not a repository, ...)."""

    identity: str
    message: str


@dataclass
class ResolvedInputs:
    """The repositories to build (in dataset order), input errors, and how many were filtered out."""

    repos: list[RepoSpec]
    errors: list[InputError]
    filtered: int = 0


def is_url(text: str) -> bool:
    """True for ``scheme://...`` and scp-like ``user@host:path`` remotes."""
    return bool(_URL_RE.match(text))


def is_repository(path: Path) -> bool:
    """A work tree (has ``.git``) or a bare repository (HEAD, objects/, refs/)."""
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def find_repositories(root: Path, skip: Sequence[Path] = ()) -> list[Path]:
    """Repositories under ``root`` in sorted order; does not descend into a repository or into
    a ``skip`` folder (the build's own output, whose clone cache holds repositories)."""
    found: list[Path] = []
    skipped = {p.resolve() for p in skip}
    for dirpath, dirnames, _files in os.walk(root):  # followlinks=False: no symlink loops
        here = Path(dirpath)
        if here.resolve() in skipped:
            dirnames[:] = []
            continue
        if is_repository(here):
            found.append(here)
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
    return found


def resolve_inputs(inputs: Sequence[str], filters: FilterConfig | None = None,
                   skip: Sequence[Path] = ()) -> ResolvedInputs:
    """Expand INPUT arguments into repositories, dropping duplicates and filtered rows;
    folder searches do not enter ``skip`` folders."""
    filters = filters or FilterConfig()
    out = ResolvedInputs(repos=[], errors=[])
    seen: set[str] = set()
    for item in inputs:
        for spec in _expand(item, out.errors, skip):
            if spec.identity in seen:
                continue
            seen.add(spec.identity)
            if passes(spec, filters):
                out.repos.append(spec)
            else:
                out.filtered += 1
    return out


def passes(spec: RepoSpec, filters: FilterConfig) -> bool:
    """Whether ``spec`` passes the filters; a missing field fails a filter on that field."""
    if filters.license:
        allowed = {x.lower() for x in filters.license}
        if spec.license is None or spec.license.lower() not in allowed:
            return False
    if filters.language:
        allowed = {x.lower() for x in filters.language}
        if spec.language is None or spec.language.lower() not in allowed:
            return False
    if filters.min_stars is not None and (spec.stars is None or spec.stars < filters.min_stars):
        return False
    return True


def _expand(item: str, errors: list[InputError], skip: Sequence[Path]) -> list[RepoSpec]:
    if is_url(item) and _url_suffix(item) in MANIFEST_SUFFIXES:
        return _read_remote_manifest(item)
    if is_url(item):
        return [RepoSpec(identity=_url_identity(item), url=item)]
    path = Path(item).expanduser()
    if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
        return read_input_manifest(path)
    if path.is_dir():
        if is_repository(path):
            return [RepoSpec(identity=str(path.resolve()), path=str(path.resolve()))]
        found = find_repositories(path, skip)
        if not found:
            errors.append(InputError(str(path.resolve()), "no git repository found in this directory"))
        return [RepoSpec(identity=str(p.resolve()), path=str(p.resolve())) for p in found]
    if path.exists():
        errors.append(InputError(str(path.resolve()),
                                 "not a repository, a directory or a manifest (.csv, .parquet, .jsonl)"))
    else:
        errors.append(InputError(str(path.absolute()), "no such file or directory"))
    return []


def _url_identity(url: str) -> str:
    return url.rstrip("/")


def _url_suffix(url: str) -> str:
    """The file suffix of a URL's path (``s3://b/list.csv`` -> ``.csv``; a git remote: ``.git`` or '')."""
    tail = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return Path(tail).suffix.lower()


def _read_remote_manifest(url: str) -> list[RepoSpec]:
    """A manifest at a URL (any fsspec URL): read into memory, then as a local one. Its relative
    ``path`` entries have no folder to be relative to, so they must be absolute or URLs."""
    import tempfile

    from sessionforge.dataset.remote import open_store, store_error

    fs, path = open_store(url)
    try:
        data = fs.cat_file(path)
    except Exception as exc:  # fsspec backends raise many types: one line naming the URL
        raise ManifestError(url, str(store_error(url, exc)).removeprefix(f"{url}: ")) from None
    with tempfile.TemporaryDirectory(prefix="sessionforge-manifest-") as tmp:
        local = Path(tmp) / Path(path).name
        local.write_bytes(data)
        specs = read_input_manifest(local, label=url)
    for spec in specs:
        if spec.path is not None and spec.path.startswith(str(Path(tmp))):
            raise ManifestError(url, f"relative path in a manifest read from a URL: {spec.identity}; "
                                     "give absolute paths or URLs")
    return specs


def read_input_manifest(path: Path, label: str | None = None) -> list[RepoSpec]:
    """Read a CSV/Parquet/JSONL manifest; relative paths are relative to the manifest's folder.
    ``label`` names the manifest in errors (its URL when it was fetched)."""
    import polars as pl  # polars is heavy to import; only manifests need it here

    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pl.read_csv(path, infer_schema_length=None, glob=False)
        elif suffix == ".parquet":
            df = pl.read_parquet(path, glob=False)  # a "[" in a file name is not a glob
        else:
            df = pl.read_ndjson(path, infer_schema_length=None)
    except Exception as exc:  # polars raises many types; all mean "cannot read this file"
        raise ManifestError(label or path, f"cannot read manifest: {exc}") from None
    if "path" not in df.columns and "url" not in df.columns:
        raise ManifestError(label or path,
                            f"a manifest needs a 'path' or 'url' column (found: {', '.join(df.columns)})")
    specs = []
    for i, row in enumerate(df.iter_rows(named=True)):
        try:
            specs.append(_manifest_row(path, i + 1, row))
        except ManifestError as exc:
            raise ManifestError(label or path, exc.cause, i + 1) if label else exc from None
    return specs


def _manifest_row(path: Path, rownum: int, row: dict[str, Any]) -> RepoSpec:
    repo_path, url = _str_or_none(row.get("path")), _str_or_none(row.get("url"))
    if repo_path is None and url is None:
        raise ManifestError(path, "neither 'path' nor 'url' is set", rownum)
    stars = row.get("stars")
    if stars is not None:
        try:
            stars = int(stars)
        except (TypeError, ValueError):
            raise ManifestError(path, f"'stars' must be an integer, got {stars!r}", rownum) from None
    meta = dict(license=_str_or_none(row.get("license")), language=_str_or_none(row.get("language")), stars=stars)
    if repo_path is not None:
        p = Path(repo_path).expanduser()
        if not p.is_absolute():
            p = path.parent / p
        p = p.resolve()
        return RepoSpec(identity=str(p), path=str(p), **meta)
    assert url is not None
    return RepoSpec(identity=_url_identity(url), url=url, **meta)


def _str_or_none(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None
