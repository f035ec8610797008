"""An interrupted or failing study leaves the previous run intact and says so
in one line.

A run writes into a hidden staging folder inside ``out`` and moves its files
into ``out`` only when it has finished (with SIGINT and SIGTERM held off for
those few renames): Ctrl-C, SIGTERM or an error leaves ``out`` as the
previous run left it. ``mlpinspect study`` exits 130 on Ctrl-C and 143 on
SIGTERM with one line on standard error, even when the interrupt landed in a
finaliser that Python would otherwise report as "Exception ignored" and
swallow.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mlpinspect.study as study
from mlpinspect import Network
from mlpinspect.cli import main
from mlpinspect.errors import MlpinspectError


def tiny_data(data, quick):
    rng = np.random.default_rng(0)
    X = rng.random((20, 4))
    y = (X[:, 0] > 0.5).astype(int)
    return (X, y), (X, y), "twenty random rows"


def network_section(seed):
    """A section that saves a network and reports an accuracy."""

    def section(ctx):
        net = Network([4, 3, 2], seed=seed)
        ctx.files["study-network.npz"] = net.save(ctx.out / "study-network.npz")
        ctx.results["test_accuracy"] = 0.5
        return study.Section(key=f"net{seed}", title=f"network {seed}")

    return section


def raising(exc):
    def section(ctx):
        raise exc

    return section


def sends(sig):
    def section(ctx):
        os.kill(os.getpid(), sig)
        time.sleep(0.1)  # the handler runs here, raising KeyboardInterrupt
        return None

    return section


class _InterruptedFinaliser:
    """The interrupt arrives while a finaliser runs: Python prints
    "Exception ignored in ..." and goes on, unless the study notices."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the signal handler runs in here
            pass


def swallowed_interrupt(ctx):
    _InterruptedFinaliser()  # deleted at once: the interrupt is "ignored"
    return None


@pytest.fixture
def sections(monkeypatch):
    monkeypatch.setattr(study, "load_data", tiny_data)

    def use(*makers):
        monkeypatch.setattr(study, "SECTIONS", tuple(makers))

    return use


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def previous_run(sections, tmp_path):
    out = tmp_path / "out"
    sections(network_section(1))
    study.run_study(out, quiet=True, epochs=1, sweep_sizes=())
    before = snapshot(out)
    assert {"study-network.npz", "report.md", "report.html"} <= set(before)
    return out, before


@pytest.mark.parametrize(
    "failure", [KeyboardInterrupt(), MlpinspectError("boom"), OSError(errno.EIO, "io")]
)
def test_a_failed_run_leaves_the_previous_run_intact(previous_run, sections, failure):
    out, before = previous_run
    sections(network_section(2), raising(failure))
    with pytest.raises(type(failure)):
        study.run_study(out, quiet=True, epochs=1, sweep_sizes=())
    assert snapshot(out) == before
    assert not [n for n in visible(out) if n.startswith(".")]


def test_a_finished_run_replaces_the_previous_one(previous_run, sections):
    out, before = previous_run
    sections(network_section(2))
    result = study.run_study(out, quiet=True, epochs=1, sweep_sizes=())
    after = snapshot(out)
    assert after["study-network.npz"] != before["study-network.npz"]
    assert result.files["study-network.npz"] == out / "study-network.npz"
    assert all(path.parent == out for path in result.files.values())
    np.testing.assert_array_equal(
        Network.load(out / "study-network.npz").weights[0],
        Network([4, 3, 2], seed=2).weights[0],
    )
    assert not [n for n in visible(out) if n.startswith(".")]


def test_stale_staging_folders_of_killed_runs_are_removed(previous_run, sections):
    out, _ = previous_run
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: a run killed mid-way
        os._exit(0)
    os.waitpid(pid, 0)
    from mlpinspect._io import host_tag

    stale = out / f".study~{host_tag()}-{pid}-abcdef.tmp"
    stale.mkdir()
    (stale / "study-network.npz").write_bytes(b"half")
    sections(network_section(3))
    study.run_study(out, quiet=True, epochs=1, sweep_sizes=())
    assert not stale.exists()


# -- the command line --------------------------------------------------------------


def run_cli(capsys, out):
    code = main(["study", "--out", str(out), "--quiet", "--epochs", "1",
                 "--sweep-sizes", ""])  # fmt: skip
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(
    ("make", "code", "word"),
    [
        (lambda: raising(KeyboardInterrupt()), 130, "interrupted"),
        (lambda: sends(signal.SIGINT), 130, "interrupted"),
        (lambda: swallowed_interrupt, 130, "interrupted"),
        (lambda: sends(signal.SIGTERM), 143, "terminated"),
        (lambda: raising(OSError(errno.ENOSPC, "No space left on device")), 1,
         "No space left on device"),
        (lambda: raising(MemoryError()), 1, "memory"),
    ],
    ids=["KeyboardInterrupt", "SIGINT", "swallowed SIGINT", "SIGTERM", "disk full",
         "out of memory"],
)  # fmt: skip
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_command_says_what_happened_in_one_line(
    previous_run, sections, capsys, make, code, word
):
    out, before = previous_run
    capsys.readouterr()
    sections(network_section(2), make())
    got, err = run_cli(capsys, out)
    assert got == code
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mlpinspect study: ")
    assert word in lines[0]
    assert snapshot(out) == before
    # The signal handlers are the ones from before the run.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)


def test_disk_full_while_saving_is_one_line(
    previous_run, sections, capsys, monkeypatch
):
    """ENOSPC from the disk itself (here: from fsync) while a network is
    saved: one line, not a traceback, and the previous run stays."""
    import mlpinspect._io as io_module

    out, before = previous_run

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io_module.os, "fsync", full)
    sections(network_section(2))
    capsys.readouterr()
    got, err = run_cli(capsys, out)
    assert got == 1
    assert err.count("\n") == 1 and "No space left on device" in err
    monkeypatch.undo()
    assert snapshot(out) == before


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_real_interrupt_of_the_command(tmp_path, sig, code):
    """Interrupt a real ``mlpinspect study --quick`` once its run has started
    writing: the exit status is 128 + the signal, standard error one line, and
    ``out`` holds nothing of the unfinished run."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "mlpinspect", "study", "--out", str(out), "--quick",
         "--quiet", "--sweep-sizes", ""],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        staging = [p for p in out.glob(".study~*")] if out.exists() else []
        if staging and any(staging[0].iterdir()):
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(sig)
    _, err = process.communicate(timeout=120)
    assert process.returncode == code, err.decode()
    assert len(err.decode().strip().splitlines()) == 1, err.decode()
    assert visible(out) == []
