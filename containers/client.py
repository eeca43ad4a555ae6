"""Start an image's `serve` and send it requests, inside one sandbox (standard library only).

    python client.py SPEC.json

SPEC: {"serve": [command...], "port": 8080, "start_seconds": 180,
       "requests": [{"body": file, "content_type": str, "accept": str|null}],
       "responses": folder}

Runs the serving command with this process's environment, waits until GET /ping answers
200 (the server failing first, or the time running out, is an error that carries the
server's output), POSTs each request body to /invocations in order, and writes
`<responses>/<index>.body` plus `<responses>/status.json` (each request's HTTP status and
content type). The server and its workers are stopped at the end, whatever happened.
Exit code 0 when every request was answered (any status), 3 when the server never became
ready.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _post(port: int, body: bytes, content_type: str, accept: str | None) -> tuple[int, str, bytes]:
    headers = {"Content-Type": content_type}
    if accept is not None:
        headers["Accept"] = accept
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    responses = Path(spec["responses"])
    responses.mkdir(parents=True, exist_ok=True)
    log = (responses / "server.log").open("w")
    server = subprocess.Popen(  # noqa: S603 (the image's serve)
        spec["serve"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + float(spec.get("start_seconds", 180))
        while not _ready(spec["port"]):
            if server.poll() is not None:
                print(f"the server exited with code {server.returncode} before it was ready")
                return 3
            if time.monotonic() > deadline:
                print(f"the server was not ready after {spec.get('start_seconds', 180)} s")
                return 3
            time.sleep(0.5)
        statuses = []
        for index, request in enumerate(spec["requests"]):
            body = Path(request["body"]).read_bytes()
            status, content_type, answer = _post(
                spec["port"], body, request["content_type"], request.get("accept")
            )
            (responses / f"{index:06d}.body").write_bytes(answer)
            statuses.append({"status": status, "content_type": content_type})
        (responses / "status.json").write_text(json.dumps(statuses))
        return 0
    finally:
        # The server, gunicorn and its workers share the session: stop them all.
        for sent in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(server.pid, sent)
            except ProcessLookupError:
                break
            try:
                server.wait(timeout=20)
                time.sleep(0.2)
            except subprocess.TimeoutExpired:
                continue
        log.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
