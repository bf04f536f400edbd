"""Fixtures of Pipit's end-to-end tests (pytest, Debian's /usr/bin/python3).

Environment (set by tests/integration/CMakeLists.txt; defaults for a manual run from the repo):
  PIPIT_BIN             the pipit binary            (default: build/src/tools/pipit/pipit)
  PIPIT_CORPUS          make_corpus.sh's OUTDIR     (default: build/corpus)

Tests that take a `corpus_file` argument run once per file listed in PIPIT_CORPUS/MANIFEST.tsv.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path

import pytest

import pixels

REPO = Path(__file__).resolve().parents[2]
PIPIT_BIN = Path(os.environ.get("PIPIT_BIN", REPO / "build/src/tools/pipit/pipit"))
CORPUS = Path(os.environ.get("PIPIT_CORPUS", REPO / "build/corpus"))
DATA = REPO / "tests" / "data"  # the small fixtures kept in the repository


def data_file(name: str) -> Path:
    """tests/data/NAME; a missing fixture fails the test, naming its path."""
    p = DATA / name
    assert p.is_file(), f"missing test fixture {p} (the repository's tests/data/ holds it)"
    return p


def manifest() -> list[tuple[str, str]]:
    """(file name, description) of every corpus file, [] when there is no corpus."""
    m = CORPUS / "MANIFEST.tsv"
    if not m.is_file():
        return []
    rows = []
    for line in m.read_text().splitlines():
        if line.strip():
            name, _, desc = line.partition("\t")
            rows.append((name, desc))
    return rows


def pytest_generate_tests(metafunc):
    if "corpus_file" in metafunc.fixturenames:
        names = [n for n, _ in manifest()]
        only = getattr(metafunc.function, "corpus_filter", None)
        if only is not None:
            names = [n for n in names if only(n)]
        # With no corpus, one parameter that fails and says why (never a silent empty run).
        metafunc.parametrize("corpus_file", names or ["<no corpus>"])


@pytest.fixture
def corpus_path(corpus_file) -> Path:
    if corpus_file == "<no corpus>":
        pytest.fail(f"no corpus at {CORPUS} (MANIFEST.tsv missing): run "
                    f"'bash tests/corpus/make_corpus.sh {CORPUS}' or ctest's corpus_generate")
    return CORPUS / corpus_file


@pytest.fixture(scope="session")
def pipit_bin() -> Path:
    if not os.access(PIPIT_BIN, os.X_OK):
        pytest.fail(f"pipit binary not found at {PIPIT_BIN} (set PIPIT_BIN)")
    return PIPIT_BIN


def run_pipit(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([str(PIPIT_BIN), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def pipit_ok(*args, timeout=120) -> subprocess.CompletedProcess:
    """Runs pipit and fails the test (with its stderr) unless it exits 0."""
    p = run_pipit(*args, timeout=timeout)
    if p.returncode != 0:
        pytest.fail(f"pipit {' '.join(map(str, args))} exited {p.returncode}: "
                    f"{p.stderr.strip()[-2000:]}", pytrace=False)
    return p


@functools.lru_cache(maxsize=None)
def has_command(name: str) -> bool:
    """Whether this pipit has the subcommand `name`: `pipit NAME --help` exits 0 and prints that
    subcommand's usage (CLI11 answers an unknown NAME with the top-level help, also exit 0)."""
    if not os.access(PIPIT_BIN, os.X_OK):
        return False
    p = run_pipit(name, "--help")
    return p.returncode == 0 and f"pipit {name}" in p.stdout


@functools.lru_cache(maxsize=None)
def info(path: Path) -> dict:
    p = pipit_ok("info", "--json", path)
    return json.loads(p.stdout)


@functools.lru_cache(maxsize=None)
def codestream(path: Path) -> pixels.Codestream:
    return pixels.parse_codestream(Path(path).read_bytes())


_decode_cache: dict = {}


def decode_original(path: Path, **kw):
    """pixels.decode of a corpus file, remembered for the session (originals never change)."""
    key = (str(path), tuple(sorted((k, v if not isinstance(v, list) else tuple(v))
                                   for k, v in kw.items())))
    if key not in _decode_cache:
        _decode_cache[key] = pixels.decode(path, **kw)
    return _decode_cache[key]


@pytest.fixture
def need_stream_rebuild(pipit_bin):
    missing = [c for c in ("stream", "rebuild") if not has_command(c)]
    if missing:
        pytest.skip(f"pipit has no {' / '.join(missing)} command yet ({pipit_bin})")
