"""Run a command as a SageMaker container sees the world: no network, its own /opt/ml.

`wrap(command, opt_ml=folder)` returns the command prefixed so that it runs in new network
and mount namespaces (`unshare --net --mount`): the network namespace has the loopback
interface only (brought up, so a server and its client in the same sandbox can talk), and
`folder` is bind-mounted at /opt/ml for that command alone, so the toolkits find their
files where the containers have them, with no relocation variables. If the machine has no
/opt/ml, a tmpfs is mounted over /opt inside the namespace first (the host is untouched;
nothing the check runs may live under /opt). Folders given as `writable` (a cached venv)
get an overlay whose changes land in `scratch` and vanish with the command: the serving
stack pip-installs the model's code into its environment at start-up, as it would into
a fresh container, and the cache stays clean for the next check.

Why namespaces and not a bad index URL: this machine's pip configuration points at local
package folders, so "offline" must mean no network at all. Why /opt/ml and not
SAGEMAKER_BASE_DIR: relocating needs SM_STUDIO_LOCAL_MODE too, or the training toolkit
retries a DNS lookup of algo-1 for 15 minutes.

Needs root or CAP_SYS_ADMIN (CI runs as root). `unavailable()` says why not, in words.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

# Runs inside the namespaces; $1 = the folder for /opt/ml ("" for none), $2 = the scratch
# folder, $3 = the number N of writable folders, then N folders, then the command.
_SETUP = r"""
set -eu
ip link set lo up
opt_ml=$1 scratch=$2 count=$3
shift 3
i=0
while [ "$i" -lt "$count" ]; do
  i=$((i + 1))
  mkdir -p "$scratch/overlay-$i/upper" "$scratch/overlay-$i/work"
  mount -t overlay pkgml-overlay \
    -o "lowerdir=$1,upperdir=$scratch/overlay-$i/upper,workdir=$scratch/overlay-$i/work" "$1"
  shift
done
if [ -n "$opt_ml" ]; then
  if [ ! -d /opt/ml ]; then
    mount -t tmpfs -o size=1m,mode=755 pkgml-opt /opt
    mkdir /opt/ml
  fi
  mount --bind "$opt_ml" /opt/ml
fi
exec "$@"
"""


def unavailable() -> str | None:
    """None if commands can be sandboxed here, else the reason in words."""
    for tool in ("unshare", "ip", "mount"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    probe = subprocess.run(
        ["unshare", "--net", "--mount", "--", "/bin/sh", "-c", "ip link set lo up && true"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if probe.returncode != 0:
        return (
            "`unshare --net --mount` is not permitted (needs root or CAP_SYS_ADMIN): "
            f"{(probe.stderr or probe.stdout).strip()}"
        )
    return None


def wrap(
    command: Sequence[str],
    *,
    opt_ml: Path | None = None,
    writable: Sequence[Path] = (),
    scratch: Path | None = None,
) -> list[str]:
    """`command` run with no network, (if given) `opt_ml` mounted at /opt/ml, and the
    `writable` folders overlaid (their changes kept in `scratch`, then dropped)."""
    if writable and scratch is None:
        raise ValueError("writable folders need a scratch folder for their changes")
    if opt_ml is not None:
        resolved = opt_ml.resolve()
        if resolved.is_relative_to("/opt"):
            raise ValueError(f"the sandbox's /opt/ml folder must not live under /opt: {resolved}")
        if not resolved.is_dir():
            raise FileNotFoundError(f"no folder {resolved} to mount at /opt/ml")
    where = "" if opt_ml is None else str(opt_ml.resolve())
    overlays = [str(Path(folder).resolve()) for folder in writable]
    return [
        *("unshare", "--net", "--mount", "--", "/bin/sh", "-c", _SETUP, "sandbox"),
        *(where, str(scratch.resolve()) if scratch else "", str(len(overlays)), *overlays),
        *command,
    ]
