"""requirements.lock: the versions CI tested, made by `bash scripts/lock.sh` (pip-compile) from
the loose requirements.txt, and installed with it by scripts/_env.sh (so by scripts/test.sh,
scripts/course.sh and .ci/run)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "requirements.lock"


def _pins() -> dict:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, version = line.partition("==")
            assert version and " " not in line, f"not a pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def test_the_lock_pins_every_requirement_within_its_range():
    pins = _pins()
    assert "minigrad" not in pins  # the package itself is installed editable, never pinned
    assert "bash scripts/lock.sh" in LOCK.read_text()  # the command that refreshes it
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-e"):
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in pins, f"requirements.lock has no pin for {req.name}"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={pins[name]}, outside {req.specifier}; "
            "run `bash scripts/lock.sh`")


def _ensure_venv(tmp_path, **env):
    """Run _env.sh's ensure_venv against a fake environment whose python records its calls."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    log = tmp_path / "calls.log"
    log.unlink(missing_ok=True)
    fake = venv / "bin" / "python"
    fake.write_text(f'#!/usr/bin/env bash\necho "$*" >>"{log}"\n')
    fake.chmod(0o755)
    run = subprocess.run(
        ["bash", "-c", 'source scripts/_env.sh && ensure_venv && _minigrad_stamp'],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "MINIGRAD_VENV": str(venv), **env})
    calls = log.read_text().splitlines() if log.exists() else []
    installs = [c for c in calls if c.startswith("-m pip install")]
    return run, installs


def test_env_installs_with_the_lock_and_reinstalls_when_it_changes(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK.read_text())
    run, installs = _ensure_venv(tmp_path, MINIGRAD_LOCK=str(lock))
    assert run.returncode == 0, run.stderr
    assert installs == [f"-m pip install -r requirements.txt -c {lock}"]
    stamp = run.stdout.split()[-1]

    run, installs = _ensure_venv(tmp_path, MINIGRAD_LOCK=str(lock))
    assert installs == [] and run.stdout.split()[-1] == stamp  # unchanged: nothing to do

    lock.write_text(LOCK.read_text().replace("==", "===", 1))  # a changed pin
    run, installs = _ensure_venv(tmp_path, MINIGRAD_LOCK=str(lock))
    assert len(installs) == 1 and run.stdout.split()[-1] != stamp


@pytest.mark.parametrize("lock, expect", [("", "-m pip install -r requirements.txt"),
                                          ("missing.lock", None)])
def test_env_without_a_lock(tmp_path, lock, expect):
    run, installs = _ensure_venv(tmp_path, MINIGRAD_LOCK=lock and str(tmp_path / lock))
    if expect is None:
        assert run.returncode != 0 and "no lock file" in run.stderr and installs == []
    else:
        assert run.returncode == 0 and installs == [expect]


def test_ci_and_the_scripts_use_the_lock_by_default():
    env = (REPO / "scripts" / "_env.sh").read_text()
    assert re.search(r'MINIGRAD_LOCK="\$\{MINIGRAD_LOCK-\$REPO_ROOT/requirements\.lock\}"', env)
    for script in ("scripts/test.sh", "scripts/course.sh"):
        assert "_env.sh" in (REPO / script).read_text() and "ensure_venv" in (
            REPO / script).read_text(), script
    ci = (REPO / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci and "MINIGRAD_LOCK=" not in ci.replace(
        "${MINIGRAD_LOCK-", "")  # CI does not switch the lock off
