"""tools/browser.py: finding and installing Chromium (apt-get replaced by a recorder)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tools import browser


def test_a_configured_path_that_is_not_executable_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PKGML_CHROMIUM", str(tmp_path / "missing"))
    assert browser.find() is None
    assert browser.reason() == f"PKGML_CHROMIUM={tmp_path / 'missing'} is not an executable"


def test_without_chromium_the_reason_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PKGML_CHROMIUM", raising=False)
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    assert browser.reason() is not None
    assert "sudo apt-get install chromium" in str(browser.reason())


def test_install_does_nothing_when_chromium_is_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "find", lambda: "/usr/bin/chromium")
    monkeypatch.setattr(browser.subprocess, "run", pytest.fail)
    assert browser.install() is None


def test_install_without_root_or_sudo_refuses_with_the_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(browser, "find", lambda: None)
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(
        browser.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None
    )
    assert browser.install() == (
        "not root and no password-less sudo: run 'sudo apt-get install chromium'"
    )


def test_install_as_root_refreshes_stale_package_lists_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[list[str]] = []
    installed: list[str] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        failed = command[-1] == "chromium" and len([c for c in calls if "install" in c]) == 1
        if command[1] == "install" and not failed:
            installed.append("chromium")
        return subprocess.CompletedProcess(command, 100 if failed else 0)

    monkeypatch.setattr(browser, "find", lambda: "/usr/bin/chromium" if installed else None)
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    monkeypatch.setattr(browser.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(browser.subprocess, "run", run)
    assert browser.install() is None
    assert calls == [
        ["/usr/bin/apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
        ["/usr/bin/apt-get", "update", "-q"],
        ["/usr/bin/apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
    ]
