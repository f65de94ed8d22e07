"""`kg build` shows progress bars on a terminal, and nothing of them when piped or --quiet."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEED

ANTHOLOGY = Path(__file__).resolve().parents[1] / "data" / "anthology" / "2024.tacl.xml.gz"
KG = [sys.executable, "-m", "kg.cli"]


def run_on_terminal(args: list[str]) -> tuple[int, str]:
    """Run kg with stderr on a pseudo-terminal (stdout piped); what the terminal got."""
    main, side = pty.openpty()
    try:
        proc = subprocess.Popen(KG + args, stdout=subprocess.PIPE, stderr=side, stdin=subprocess.DEVNULL)
        os.close(side)
        chunks = []
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:  # the other side closed: the child is done
                break
            if not data:
                break
            chunks.append(data)
        proc.stdout.read()
        return proc.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(main)


def test_terminal_gets_bars(tmp_path):
    code, shown = run_on_terminal(["build", "--store", str(tmp_path / "s"), str(SEED), str(ANTHOLOGY)])
    assert code == 0, shown
    assert "kg: reading Anthology collections…" in shown
    assert "kg: reading (1 files)" in shown
    assert "kg: validating (" in shown and "focus nodes)" in shown
    assert "[##############################]" in shown  # a bar drawn to the end


@pytest.mark.slow  # builds under a pseudo-terminal: 2.5 s
def test_quiet_on_a_terminal_and_piped_show_no_progress(tmp_path):
    code, shown = run_on_terminal(["build", "--quiet", "--store", str(tmp_path / "a"), str(SEED), str(ANTHOLOGY)])
    assert code == 0
    assert shown.strip() == ""
    piped = subprocess.run(KG + ["build", "--store", str(tmp_path / "b"), str(SEED), str(ANTHOLOGY)],
                           check=False, capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0, piped.stderr
    assert "[#" not in piped.stderr and "focus nodes" not in piped.stderr and "kg: validating" not in piped.stderr
    assert "warning" in piped.stderr  # warnings still reach a pipe
    assert piped.stdout.startswith("Built ")
