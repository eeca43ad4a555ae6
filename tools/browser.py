"""A real browser for the report checks: Debian's Chromium, driven by Playwright.

`python tools/browser.py --install`: find Chromium, or install Debian's `chromium`
package where this machine can (root, or password-less sudo); says what it does and how
long it took. `--check`: exit 0 when a browser is usable, else 1 (silent, like
`containers.preflight --quiet`); `--reason` prints why not (empty when usable).
Playwright's own browser download needs a host this network cannot reach, so the
browser is the distribution's, found by its executable path:
`PKGML_CHROMIUM` if set, else `chromium` / `chromium-browser` on PATH.

`open_browser()` launches it headless with the flags a closed network needs (no
background networking, component updates or sync: otherwise Chromium keeps trying to
reach Google's hosts) and a fresh profile folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE = "chromium"
NAMES = ("chromium", "chromium-browser")
FLAGS = (
    "--no-sandbox",  # root in CI; the page is our own local file
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find() -> str | None:
    """The Chromium executable, or None."""
    configured = os.environ.get("PKGML_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def reason() -> str | None:
    """Why no browser check can run here, or None when one can."""
    if find() is None:
        where = os.environ.get("PKGML_CHROMIUM")
        if where:
            return f"PKGML_CHROMIUM={where} is not an executable"
        return (
            "Chromium is not installed (make setup-dev installs Debian's 'chromium' package "
            "as root; elsewhere: sudo apt-get install chromium, or set PKGML_CHROMIUM)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (make setup-dev installs it)"
    return None


def _apt(prefix: Sequence[str], *args: str) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = shutil.which("apt-get") or "apt-get"
    return subprocess.run([*prefix, apt, *args], env=env, check=False).returncode  # noqa: S603


def install() -> str | None:
    """Install Debian's Chromium when missing and possible; the reason when not."""
    if find() is not None:
        return None
    if os.environ.get("PKGML_CHROMIUM"):  # the operator chose the browser: fix the path
        return reason()
    if shutil.which("apt-get") is None:
        return "no apt-get: install Chromium yourself and set PKGML_CHROMIUM"
    sudo = shutil.which("sudo")
    if os.geteuid() == 0:
        prefix: list[str] = []
    elif sudo and subprocess.run([sudo, "-n", "true"], check=False).returncode == 0:  # noqa: S603
        prefix = [sudo, "-n"]
    else:
        return "not root and no password-less sudo: run 'sudo apt-get install chromium'"
    started = time.monotonic()
    print(f"==> installing Debian's {PACKAGE} package for the browser checks", flush=True)
    install_args = ("install", "-y", "-q", "--no-install-recommends", PACKAGE)
    if _apt(prefix, *install_args) != 0:  # stale package lists: refresh once, then retry
        _apt(prefix, "update", "-q")
        if _apt(prefix, *install_args) != 0:
            return f"apt-get install {PACKAGE} failed (see above)"
    print(f"    {PACKAGE} done in {time.monotonic() - started:.0f} s", flush=True)
    return None if find() else f"apt-get installed {PACKAGE} but no chromium is on PATH"


@contextmanager
def open_browser() -> Iterator[Any]:
    """A headless Chromium (Playwright Browser) with a throw-away profile."""
    from playwright.sync_api import sync_playwright

    executable = find()
    if executable is None:
        raise RuntimeError(reason() or "no Chromium")
    with tempfile.TemporaryDirectory(prefix="pkgml-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=list(FLAGS)
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class PageCheck:
    """What a browser saw on a page: its charts, its images, its errors."""

    title: str
    charts: list[dict[str, Any]] = field(default_factory=list)  # id, width, height, shapes
    images: list[dict[str, Any]] = field(default_factory=list)  # src, width, height
    errors: list[str] = field(default_factory=list)  # console errors and page errors


_CHARTS = """els => els.map(e => { const r = e.getBoundingClientRect();
  return {id: e.id, width: r.width, height: r.height,
          shapes: e.querySelectorAll('polyline,rect,circle').length}; })"""
_IMAGES = """els => els.map(e => ({src: e.src, width: e.naturalWidth,
  height: e.naturalHeight, complete: e.complete}))"""


def inspect(
    context: Any, path: Path, *, screenshot: Path | None = None, width: int = 1240
) -> PageCheck:
    """Open a local page (`width` pixels wide); its inline SVG charts (`svg.chart`), its
    <img> elements and its console errors; optionally a full-page screenshot."""
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(path.resolve().as_uri(), wait_until="load")
        check = PageCheck(
            title=page.title(),
            charts=page.eval_on_selector_all("svg.chart", _CHARTS),
            images=page.eval_on_selector_all("img", _IMAGES),
            errors=errors,
        )
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        return check
    finally:
        page.close()


def main(argv: Sequence[str] | None = None) -> int:
    """--install, --check (exit status), --reason."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--install", action="store_true")
    group.add_argument("--check", action="store_true")
    group.add_argument("--reason", action="store_true")
    args = parser.parse_args(argv)
    if args.install:
        why = install()
        if why:
            print(f"    browser checks will NOT run: {why}", flush=True)
        return 0
    why = reason()
    if args.reason:
        print(why or "")
    return 0 if why is None else 1


if __name__ == "__main__":
    sys.exit(main())
