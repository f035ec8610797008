"""Writes are all-or-nothing, leave nothing behind and name what went wrong.

Every file mlpinspect writes goes to a temporary file beside its target and
is renamed into place (``mlpinspect._io.atomic_write``). A process killed
mid-write (SIGKILL, an unhandled SIGTERM) leaves its temporary file; the next
write to that folder removes every temporary file of ours whose writer is
gone. The kill loop below checks both halves: the target is always the old
or the new file, never a mixture, and no temporary file outlives the next
write.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import socket
import time

import numpy as np
import pytest

from mlpinspect import InvalidParameterError, MlpinspectError, Network
from mlpinspect._io import (
    STALE_AFTER,
    atomic_write,
    create_temp,
    host_tag,
    is_own_temp,
)
from mlpinspect.datasets import save_idx
from mlpinspect.errors import WriteError


def temps(folder):
    return sorted(p.name for p in folder.iterdir() if is_own_temp(p.name))


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def _age(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_temporary_names_are_ours_and_short(tmp_path):
    fd, tmp = create_temp(tmp_path, "n" * 240 + ".npz")
    os.close(fd)
    assert tmp.parent == tmp_path
    assert tmp.name.startswith(".")
    assert len(os.fsencode(tmp.name)) <= 255
    assert is_own_temp(tmp.name)
    assert str(os.getpid()) in tmp.name and host_tag() in tmp.name
    for other in (".gitignore", ".x.tmp", "net.npz", ".DS_Store", ".a.b.tmp~"):
        assert not is_own_temp(other)


def test_a_240_character_file_name_saves(tmp_path):
    net = Network([4, 3, 2], seed=0)
    name = "n" * 236 + ".npz"
    path = net.save(tmp_path / name)
    assert path.name == name
    np.testing.assert_array_equal(Network.load(path).weights[0], net.weights[0])
    save_idx(tmp_path / ("i" * 240), np.arange(3, dtype=np.uint8))
    assert temps(tmp_path) == []


def test_stale_temporary_files_are_removed_on_the_next_write(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    host, other = host_tag(), "ffff" if host_tag() != "ffff" else "eeee"
    files = {
        # ours, on this machine, whose writer is gone: stale at once
        f".net.npz~{host}-{dead}-0a1b2c.tmp": "gone",
        f".mnist.gz~{host}-{dead}-0a1b2d.part": "gone",
        # ours, on this machine, whose writer is alive: a write in progress
        f".net.npz~{host}-{alive}-0a1b2e.tmp": "kept",
        # another machine's (a shared folder): only when older than the grace
        f".net.npz~{other}-{dead}-0a1b2f.tmp": "kept",
        f".old.npz~{other}-{dead}-0a1b30.tmp": "old",
        # the naming of mlpinspect 0.2 (no process id): by age only
        ".net.npz.0a1b2c3d.tmp": "kept",
        ".old.npz.0a1b2c3e.tmp": "old",
        # not ours
        ".gitignore": "kept",
        ".notes.tmp": "kept",
        "data.tmp": "kept",
    }
    for name, fate in files.items():
        (tmp_path / name).write_text(fate)
        if fate == "old":
            _age(tmp_path / name, STALE_AFTER + 60)
    atomic_write(tmp_path / "target.bin", lambda fh: fh.write(b"x"))
    remaining = {p.name for p in tmp_path.iterdir()}
    for name, fate in files.items():
        assert (name in remaining) == (fate == "kept"), name
    assert "target.bin" in remaining


def test_stale_files_are_cleaned_by_every_writer(tmp_path):
    stale = tmp_path / f".x.npz~{host_tag()}-{_dead_pid()}-abcdef.tmp"
    for write in (
        lambda: Network([2, 2], seed=0).save(tmp_path / "n.npz"),
        lambda: save_idx(tmp_path / "a.idx", np.arange(2, dtype=np.uint8)),
        lambda: atomic_write(tmp_path / "r.md", lambda fh: fh.write(b"#")),
    ):
        stale.write_bytes(b"partial")
        write()
        assert not stale.exists()


@pytest.mark.parametrize("path", ["", "."])
def test_saving_to_no_name_is_refused(tmp_path, path):
    net = Network([2, 2], seed=0)
    with pytest.raises(InvalidParameterError, match="`path`"):
        net.save(path)
    with pytest.raises(InvalidParameterError, match="`path`"):
        save_idx(path, np.arange(2, dtype=np.uint8))


def test_saving_onto_a_folder_is_refused(tmp_path):
    folder = tmp_path / "net.npz"
    folder.mkdir()
    with pytest.raises(MlpinspectError, match=r"`path`.*folder"):
        Network([2, 2], seed=0).save(folder)
    with pytest.raises(MlpinspectError, match=r"`path`.*folder"):
        save_idx(folder, np.arange(2, dtype=np.uint8))
    assert list(folder.iterdir()) == []


def test_saving_under_a_file_is_a_write_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WriteError, match="`path`") as info:
        Network([2, 2], seed=0).save(blocker / "net.npz")
    assert isinstance(info.value, OSError)
    assert info.value.errno in (errno.ENOTDIR, errno.EEXIST)


def test_disk_full_is_a_write_error_and_leaves_nothing(tmp_path):
    def full(fh):
        fh.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError, match="No space left") as info:
        atomic_write(tmp_path / "x.bin", full)
    assert info.value.errno == errno.ENOSPC
    assert isinstance(info.value, OSError) and isinstance(info.value, MlpinspectError)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_while_writing_leaves_the_old_file(tmp_path):
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")

    def interrupted(fh):
        fh.write(b"new, half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, interrupted)
    assert target.read_bytes() == b"old"
    assert temps(tmp_path) == []


# -- the kill loop ---------------------------------------------------------------------


def _saving_forever(target, networks):
    """The child: save the two networks in turn, forever."""
    try:
        while True:
            for net in networks:
                net.save(target)
    finally:
        os._exit(0)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_saves_leave_old_or_new_and_no_stale_temps(tmp_path, sig):
    """Kill a process saving networks at random moments, 25 times: the target
    is always one of the two networks, complete; the temporary files the
    kills leave behind are all gone after the next write."""
    networks = [Network([256, 64, 10], seed=s) for s in (1, 2)]
    target = tmp_path / "net.npz"
    networks[0].save(target)
    rng = random.Random(0)
    left_behind = 0
    for _ in range(25):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _saving_forever(target, networks)
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(pid, sig)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == sig
        loaded = Network.load(target)  # complete: it loads
        assert any(
            all(np.array_equal(a, b) for a, b in zip(loaded.weights, net.weights))
            for net in networks
        )
        left_behind += len(temps(tmp_path))
    networks[1].save(target)  # the next write cleans up
    assert temps(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]
    # The loop is only meaningful if some kills hit a save in progress.
    assert left_behind > 0


def test_host_tag_is_stable_and_short():
    assert host_tag() == host_tag()
    assert len(host_tag()) == 4
    assert all(c in "0123456789abcdef" for c in host_tag())
    assert socket.gethostname()  # the tag is derived from it
