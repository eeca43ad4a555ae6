"""The step cache (`CacheConfig`): Processing, Training and Transform steps whose resolved
arguments match an earlier run's, within `ExpireAfter`, reuse its properties and outputs.

The key hashes the pipeline and step name, the step type, the resolved arguments, the
property files and, for every argument URI under one of `code_prefixes`, the content of
the objects under it (so changed step code misses even at the same URI). Entries live in
`<root>/step-cache.json`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rehearsal.executor.errors import DefinitionError
from rehearsal.executor.records import StepRecord
from rehearsal.executor.world import LocalAws
from rehearsal.localaws import split_uri

CACHEABLE_TYPES = ("Processing", "Training", "Transform")
_DURATION = re.compile(
    r"^P(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


def parse_duration(text: str) -> dt.timedelta:
    """An ISO 8601 duration as used by CacheConfig.ExpireAfter (months = 30 days, years = 365)."""
    match = _DURATION.fullmatch(text or "")
    if match is None or text in ("P", "PT"):
        raise DefinitionError(f"ExpireAfter {text!r} is not an ISO 8601 duration")
    number = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    days = number["Y"] * 365 + number["M"] * 30 + number["W"] * 7 + number["D"]
    return dt.timedelta(days=days, hours=number["h"], minutes=number["m"], seconds=number["s"])


def caches(step: Mapping[str, Any]) -> bool:
    """Whether the step's results are looked up in (and stored to) the cache."""
    return step.get("Type") in CACHEABLE_TYPES and bool(
        (step.get("CacheConfig") or {}).get("Enabled")
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass(frozen=True)
class StepCache:
    """The cache of one local world; `code_prefixes`: S3 prefixes whose object contents go
    into the keys (besides the URIs themselves)."""

    aws: LocalAws
    code_prefixes: Sequence[str] = ()

    def key(self, pipeline_name: str, step: Mapping[str, Any], arguments: Any) -> str:
        """The cache key of a step with these resolved arguments."""
        code = {
            uri: self._content_hash(uri)
            for uri in sorted(set(_strings(arguments)))
            if any(uri.startswith(prefix) for prefix in self.code_prefixes)
        }
        material = {
            "pipeline": pipeline_name,
            "step": step["Name"],
            "type": step["Type"],
            "arguments": arguments,
            "property_files": step.get("PropertyFiles", []),
            "code": code,
        }
        return hashlib.sha256(
            json.dumps(material, sort_keys=True, default=str).encode()
        ).hexdigest()

    def lookup(self, step: Mapping[str, Any], key: str) -> dict[str, Any] | None:
        """The entry stored under `key` unless missing or older than the step's ExpireAfter."""
        expiry = parse_duration(step["CacheConfig"].get("ExpireAfter", "P0D"))
        with self._entries() as entries:
            entry = entries.get(key)
        if entry is None:
            return None
        finished = dt.datetime.fromisoformat(entry["finished"])
        if dt.datetime.now(tz=dt.UTC) - finished > expiry:
            return None
        return dict(entry)

    def store(self, key: str, pipeline_name: str, execution_id: str, record: StepRecord) -> None:
        """Remember a succeeded step's properties and outputs under `key`."""
        with self._entries() as entries:
            entries[key] = {
                "pipeline": pipeline_name,
                "step": record.name,
                "execution_id": execution_id,
                "finished": dt.datetime.now(tz=dt.UTC).isoformat(),
                "properties": record.properties,
                "outputs": record.outputs,
            }

    def _content_hash(self, uri: str) -> str:
        bucket, prefix = split_uri(uri)
        digest = hashlib.sha256()
        for key in self.aws.s3.list_keys(bucket, prefix):
            digest.update(key.encode() + b"\0")
            digest.update((self.aws.s3.root / bucket / key).read_bytes() + b"\0")
        return digest.hexdigest()

    @contextlib.contextmanager
    def _entries(self) -> Iterator[dict[str, Any]]:
        path = self.aws.root / "step-cache.json"
        entries = json.loads(path.read_text()) if path.is_file() else {}
        yield entries
        path.write_text(json.dumps(entries, indent=1, sort_keys=True, default=str))
