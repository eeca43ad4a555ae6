"""Synth cost: the full app (all environments and package types) vs a bare one-bucket app.

Runs each app as `python <app>` in a fresh interpreter (what `cdk synth` runs),
as `make synth` runs it (cdk-nag on; CloudFormation's built-in validation off unless
PKGML_CFN_VALIDATION=1).
Measures the full app with a cold definition cache (every pipeline definition
built by the SageMaker SDK) and warm (unchanged definitions read back).
Targets (issues 4, 16): warm full synth <= 3x the bare app; cold <= 15 s.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE_APP = """
import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
app = cdk.App()
stack = cdk.Stack(app, "Bare", env=cdk.Environment(account="222222222222", region="us-east-1"))
s3.Bucket(stack, "Bucket")
app.synth()
"""


def run(args: list[str], outdir: str, env: dict[str, str]) -> float:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    env = {**env, "CDK_OUTDIR": outdir, "CDK_CONTEXT_JSON": json.dumps(context)}
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603
    return time.perf_counter() - start


def main() -> int:
    """Print median seconds of each variant and the warm ratio against the target."""
    env = {**os.environ, "SAGEMAKER_VALIDATE_ROLE": "false"}
    repeats = int(os.environ.get("BENCH_REPEATS", "3"))
    with tempfile.TemporaryDirectory() as tmp:
        bare_script = Path(tmp) / "bare_app.py"
        bare_script.write_text(BARE_APP)
        cache = ROOT / ".cache" / "pipeline-definitions"
        saved = Path(tmp) / "saved-cache"
        if cache.exists():
            shutil.copytree(cache, saved)
        try:
            cold = []
            for i in range(repeats):
                shutil.rmtree(cache, ignore_errors=True)
                cold.append(run([sys.executable, "app.py"], f"{tmp}/c{i}", env))
            bare = [
                run([sys.executable, str(bare_script)], f"{tmp}/b{i}", env) for i in range(repeats)
            ]
            warm = [run([sys.executable, "app.py"], f"{tmp}/w{i}", env) for i in range(repeats)]
        finally:
            if saved.exists():
                shutil.rmtree(cache, ignore_errors=True)
                shutil.copytree(saved, cache)
    bare_s, warm_s, cold_s = (statistics.median(runs) for runs in (bare, warm, cold))
    print(f"{'variant':<34}{'seconds':>9}")
    print(f"{'bare one-bucket app':<34}{bare_s:>9.2f}")
    print(f"{'full app, cold definition cache':<34}{cold_s:>9.2f}")
    print(f"{'full app, warm definition cache':<34}{warm_s:>9.2f}")
    ratio = warm_s / bare_s
    verdict = "meets" if ratio <= 3 else "MISSES"
    print(f"warm / bare = {ratio:.2f}x ({verdict} the <= 3x target); medians of {repeats} runs")
    verdict = "meets" if cold_s <= 15 else "MISSES"
    print(f"cold = {cold_s:.1f} s ({verdict} the <= 15 s target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
