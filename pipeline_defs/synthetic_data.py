"""Deterministic synthetic packaging data: products, per-package-type labels, Parquet output.

Products are drawn per category (dimensions log-normal around a category median, weight
from a category density, fragility/liquid/battery rates by category, price log-normal).
Suitability labels follow plain packaging rules, then a `label_noise` fraction is flipped:

- mailer: small (longest <= 35 cm, shortest <= 8 cm), light (<= 1 kg), not fragile,
  not liquid.
- bag: soft goods (apparel, or low-density toys/home), not fragile, not liquid,
  <= 3 kg, longest <= 60 cm.
- box: fragile (>= 2), heavy (> 2 kg), large (> 20 l) or liquid, and longest <= 120 cm.
- sioc (ships in own container): large (longest >= 40 cm, >= 30 l), sturdy
  (fragility <= 1), not liquid, >= 2 kg.

`drift` in [0, 1] moves the world: products grow and get heavier, the category mix leans
to electronics and home, prices rise, rule thresholds tighten proportionally, and a
`drift` fraction of battery items become unsuitable for mailers and bags (a policy change).

CLI: `python -m pipeline_defs.synthetic_data --rows N --out DIR [--drift X] [--seed S]`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline_defs.steps.features import CATEGORIES, RAW_SCHEMA

PACKAGE_TYPES: tuple[str, ...] = ("mailer", "bag", "box", "sioc")

# Category mix today and the mix a fully drifted world moves towards (same order as CATEGORIES).
_CATEGORY_MIX = np.array([0.12, 0.15, 0.12, 0.10, 0.18, 0.08, 0.08, 0.12, 0.05])
_DRIFTED_MIX = np.array([0.05, 0.30, 0.10, 0.08, 0.10, 0.05, 0.05, 0.22, 0.05])
# Median length, width, height (cm) per category.
_MEDIAN_DIMS = np.array(
    [
        [24.0, 16.0, 3.0],
        [30.0, 20.0, 10.0],
        [35.0, 25.0, 20.0],
        [30.0, 25.0, 15.0],
        [30.0, 25.0, 4.0],
        [15.0, 8.0, 5.0],
        [20.0, 15.0, 10.0],
        [50.0, 40.0, 30.0],
        [30.0, 20.0, 15.0],
    ]
)
# Median density (kg per litre of bounding box) per category.
_DENSITY = np.array([0.6, 0.35, 0.3, 0.15, 0.2, 0.6, 0.7, 0.15, 0.25])
# P(fragility = 0, 1, 2, 3) per category.
_FRAGILITY_P = np.array(
    [
        [0.85, 0.13, 0.02, 0.00],
        [0.10, 0.30, 0.40, 0.20],
        [0.30, 0.25, 0.25, 0.20],
        [0.60, 0.30, 0.10, 0.00],
        [0.95, 0.05, 0.00, 0.00],
        [0.40, 0.30, 0.25, 0.05],
        [0.50, 0.30, 0.15, 0.05],
        [0.35, 0.30, 0.20, 0.15],
        [0.50, 0.30, 0.15, 0.05],
    ]
)
_LIQUID_P = np.array([0.0, 0.0, 0.05, 0.0, 0.0, 0.35, 0.30, 0.05, 0.02])
_BATTERY_P = np.array([0.0, 0.70, 0.10, 0.30, 0.0, 0.05, 0.0, 0.05, 0.03])
# Median price per kg-ish scale per category (log-normal around it).
_PRICE_BASE = np.array([15.0, 120.0, 35.0, 25.0, 30.0, 20.0, 8.0, 60.0, 25.0])
_SOFT_CATEGORIES = np.array([c == "apparel" for c in CATEGORIES])
_SOFT_IF_LIGHT = np.array([c in ("toys", "home") for c in CATEGORIES])


def _check_drift(drift: float) -> None:
    """Reject drift outside [0, 1]."""
    if not 0.0 <= drift <= 1.0:
        raise ValueError(f"drift must be within [0, 1], got {drift}")


def _null_mask(rng: np.random.Generator, n: int, rate: float) -> np.ndarray | None:
    """Boolean mask of rows to null out (None when the rate is zero)."""
    return rng.random(n) < rate if rate > 0 else None


def generate_products(
    n: int, *, seed: int, drift: float = 0.0, missing_rate: float = 0.005
) -> pa.Table:
    """Table of n products with RAW_COLUMNS (missing_rate of weight/price/category null)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    _check_drift(drift)
    rng = np.random.default_rng(seed)
    mix = (1.0 - drift) * _CATEGORY_MIX + drift * _DRIFTED_MIX
    category = rng.choice(len(CATEGORIES), size=n, p=mix / mix.sum())

    size_scale = 1.0 + 0.3 * drift
    raw_dims = _MEDIAN_DIMS[category] * size_scale * rng.lognormal(0.0, 0.35, size=(n, 3))
    dims = np.round(np.maximum(raw_dims, 0.5), 1).astype(np.float64)
    volume_l = dims.prod(axis=1) / 1000.0
    density = _DENSITY[category] * (1.0 + 0.2 * drift) * rng.lognormal(0.0, 0.3, size=n)
    weight = np.round(np.maximum(volume_l * density, 0.01), 3)

    cumulative = _FRAGILITY_P[category].cumsum(axis=1)
    fragility = (rng.random(n)[:, None] > cumulative[:, :-1]).sum(axis=1).astype(np.int8)
    is_liquid = rng.random(n) < _LIQUID_P[category]
    has_battery = rng.random(n) < _BATTERY_P[category]
    price = _PRICE_BASE[category] * (1.0 + 0.5 * drift) * np.sqrt(1.0 + weight)
    price = np.round(price * rng.lognormal(0.0, 0.5, size=n), 2)

    ids = pc.binary_join_element_wise(
        f"P{seed}-", pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string()), ""
    )
    category_names = pa.array(np.asarray(CATEGORIES, dtype=object)[category], type=pa.string())
    columns = {
        "product_id": ids,
        "length_cm": pa.array(dims[:, 0]),
        "width_cm": pa.array(dims[:, 1]),
        "height_cm": pa.array(dims[:, 2]),
        "weight_kg": pa.array(weight, mask=_null_mask(rng, n, missing_rate)),
        "fragility": pa.array(fragility),
        "is_liquid": pa.array(is_liquid),
        "has_battery": pa.array(has_battery),
        "category": pc.if_else(
            pa.array(_null_mask(rng, n, missing_rate) if missing_rate > 0 else np.zeros(n, bool)),
            pa.scalar(None, pa.string()),
            category_names,
        ),
        "price": pa.array(price, mask=_null_mask(rng, n, missing_rate)),
    }
    return pa.Table.from_pydict(columns, schema=RAW_SCHEMA)


def suitability(products: pa.Table, package_type: str, *, drift: float = 0.0) -> np.ndarray:
    """Noise-free 0/1 suitability of each product for a package type under the drift rules."""
    _check_drift(drift)
    dims = np.column_stack(
        [products.column(c).to_numpy() for c in ("length_cm", "width_cm", "height_cm")]
    )
    sides = np.sort(dims, axis=1)
    shortest, longest = sides[:, 0], sides[:, 2]
    volume_l = dims.prod(axis=1) / 1000.0
    weight = pc.fill_null(products.column("weight_kg"), 1.0).to_numpy()
    fragility = products.column("fragility").to_numpy()
    liquid = products.column("is_liquid").to_numpy(zero_copy_only=False)
    battery = products.column("has_battery").to_numpy(zero_copy_only=False)
    category = pc.fill_null(
        pc.index_in(products.column("category"), value_set=pa.array(CATEGORIES)),
        CATEGORIES.index("other"),
    ).to_numpy()
    # The policy change hits a stable, drift-sized share of battery items (by row hash).
    policy_hit = battery & ((np.arange(len(battery)) * 2654435761 % 1000) < drift * 1000)
    tighten = 1.0 - 0.3 * drift

    if package_type == "mailer":
        rule = (
            (longest <= 35.0 * tighten)
            & (shortest <= 8.0)
            & (weight <= 1.0 * tighten)
            & (fragility == 0)
            & ~liquid
            & ~policy_hit
        )
    elif package_type == "bag":
        density = weight / np.maximum(volume_l, 1e-3)
        soft = _SOFT_CATEGORIES[category] | (_SOFT_IF_LIGHT[category] & (density < 0.2))
        rule = (
            soft
            & (fragility == 0)
            & ~liquid
            & (weight <= 3.0 * tighten)
            & (longest <= 60.0)
            & ~policy_hit
        )
    elif package_type == "box":
        rule = (
            (fragility >= (2 if drift < 0.5 else 1))
            | (weight > 2.0 * tighten)
            | (volume_l > 20.0 * tighten)
            | liquid
        ) & (longest <= 120.0)
    elif package_type == "sioc":
        rule = (
            (longest >= 40.0 / tighten)
            & (volume_l >= 30.0 / tighten)
            & (fragility <= 1)
            & ~liquid
            & (weight >= 2.0)
        )
    else:
        raise ValueError(f"unknown package type {package_type!r}; expected one of {PACKAGE_TYPES}")
    return rule.astype(np.int32)


def generate_training_set(
    n: int,
    *,
    seed: int,
    package_types: Sequence[str] = PACKAGE_TYPES,
    drift: float = 0.0,
    label_noise: float = 0.05,
    null_label_rate: float = 0.0,
) -> pa.Table:
    """Long table (n x len(package_types) rows): RAW_COLUMNS + package_type + label (int32)."""
    if not 0.0 <= label_noise < 0.5:
        raise ValueError(f"label_noise must be within [0, 0.5), got {label_noise}")
    products = generate_products(n, seed=seed, drift=drift)
    rng = np.random.default_rng([seed, 1])
    parts = []
    for package_type in package_types:
        label = suitability(products, package_type, drift=drift)
        flip = rng.random(n) < label_noise
        label = np.where(flip, 1 - label, label).astype(np.int32)
        mask = _null_mask(rng, n, null_label_rate)
        parts.append(
            products.append_column(
                "package_type", pa.array(np.full(n, package_type, dtype=object), pa.string())
            ).append_column("label", pa.array(label, mask=mask))
        )
    return pa.concat_tables(parts)


def write_parquet(
    table: pa.Table,
    out_dir: str | Path,
    *,
    rows_per_file: int,
    manifest_url_prefix: str | None = None,
) -> list[Path]:
    """Write `part-NNNNN.parquet` files; with a URL prefix also a Redshift-style `manifest`."""
    if rows_per_file <= 0:
        raise ValueError(f"rows_per_file must be > 0, got {rows_per_file}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for index, start in enumerate(range(0, max(table.num_rows, 1), rows_per_file)):
        path = out / f"part-{index:05d}.parquet"
        pq.write_table(table.slice(start, rows_per_file), path)
        paths.append(path)
    if manifest_url_prefix is not None:
        entries = [
            {
                "url": f"{manifest_url_prefix.rstrip('/')}/{p.name}",
                "meta": {"content_length": p.stat().st_size},
            }
            for p in paths
        ]
        (out / "manifest").write_text(json.dumps({"entries": entries}, indent=2))
    return paths


def main(argv: list[str] | None = None) -> None:
    """CLI: write a synthetic training set (default seed 0, drift 0, 250k rows per file)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, required=True, help="number of products")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--drift", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label-noise", type=float, default=0.05)
    parser.add_argument("--rows-per-file", type=int, default=250_000)
    args = parser.parse_args(argv)
    table = generate_training_set(
        args.rows, seed=args.seed, drift=args.drift, label_noise=args.label_noise
    )
    paths = write_parquet(table, args.out, rows_per_file=args.rows_per_file)
    print(f"wrote {table.num_rows} rows to {len(paths)} file(s) in {args.out}")


if __name__ == "__main__":
    main()
