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
- any other package type (one added to the configuration): up to a volume, a length, a
  weight and a fragility that its name fixes (a hash picks each from a few steps), so a
  new type can be rehearsed without writing a rule.

Text (`title`, `description`, `category_path`; nullable, mixed case and punctuation, drawn
from their own random stream so the tabular columns and labels are those of the
generator before text existed): a category noun and path, words that mention the product's
attributes (glass/ceramic/fragile for fragility >= 2, bottle/liquid for liquids, battery,
flat/slim, heavy) for most such products and, as noise, for a few others, plus filler.
In a training set the description also explains the label noise: the `label_noise` flips
stand for what the rules above cannot see, and for most flipped rows the description says
why (`NOISE_HINTS`: e.g. "Glass parts inside." on a product the rules call mailer-suitable
but whose label says no), while the same phrases appear on a few other products as noise.
So text carries signal beyond the tabular columns, as product text does in reality.
`unexplained_noise` flips a further share of training labels that nothing explains (no
hint in the text): labellers disagreeing on products the data cannot tell apart, a
harder week for every model, text models too. Those flips swap positives and negatives
in equal expected numbers, so the positive rate stays where it was.

`drift` in [0, 1] moves the world: products grow and get heavier, the category mix leans
to electronics and home, prices rise, rule thresholds tighten proportionally, and a
`drift` fraction of battery items become unsuitable for mailers and bags (a policy change).

CLI: `python -m pipeline_defs.synthetic_data --rows N --out DIR [--drift X] [--seed S]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
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


# --- text vocabulary (same category order as CATEGORIES) -------------------------------
_NOUNS: tuple[tuple[str, ...], ...] = (
    ("Paperback Novel", "Cookbook", "Notebook", "World Atlas", "Comic Book", "Poster Print"),
    ("Headphones", "USB-C Charger", "Bluetooth Speaker", "Tablet", "Camera", "Wi-Fi Router"),
    ("Coffee Mug", "Frying Pan", "Knife Set", "Blender", "Salad Bowl", "Tea Kettle"),
    ("Jigsaw Puzzle", "Plush Bear", "Building Blocks", "Doll", "Board Game", "Toy Car"),
    ("T-Shirt", "Hoodie", "Wool Scarf", "Socks (3 pairs)", "Rain Jacket", "Jeans"),
    ("Shampoo", "Lipstick", "Perfume", "Face Cream", "Nail Polish", "Hair Dryer"),
    ("Olive Oil", "Coffee Beans", "Green Tea", "Honey Jar", "Pasta", "Chocolate Bar"),
    ("Table Lamp", "Cushion", "Wall Mirror", "Area Rug", "Picture Frame", "Curtains"),
    ("Gift Card", "Phone Case", "Umbrella", "Tool Kit", "Yoga Mat", "Water Bottle"),
)
_PATHS: tuple[tuple[str, ...], ...] = (
    ("Media > Books > Fiction", "Media > Books > Non-Fiction", "Media > Books & Stationery"),
    ("Electronics > Audio", "Electronics > Computers & Tablets", "Electronics > Accessories"),
    ("Home & Kitchen > Cookware", "Home & Kitchen > Tableware", "Home & Kitchen > Appliances"),
    ("Toys & Games > Puzzles", "Toys & Games > Soft Toys", "Toys & Games > Kids"),
    ("Fashion > Women", "Fashion > Men", "Fashion > Accessories"),
    ("Beauty > Hair Care", "Beauty > Make-up", "Beauty > Fragrance"),
    ("Grocery > Pantry", "Grocery > Drinks", "Grocery > Snacks"),
    ("Home > Furniture", "Home > Decor", "Home > Lighting"),
    ("Misc > Everyday", "Misc > Outdoor", "Misc > Gifts"),
)
_MODIFIERS = ("Premium", "Classic", "NEW", "Deluxe", "Eco", "Mini", "XL", "Vintage", "2-Pack")
_COLOURS = ("Black", "White", "Blue", "Red", "Green", "Grey", "Beige")
_FILLER = (
    "Great gift idea.",
    "Customer favourite!",
    "Limited edition.",
    "Made from recycled materials.",
    "Ships from our warehouse.",
    "One size fits most.",
    "Easy to clean.",
    "Two-year warranty.",
)
# Attribute words: (title words, description sentences) per attribute.
_ATTRIBUTE_TEXT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fragile": (
        ("Glass", "Ceramic", "Porcelain"),
        ("Fragile: handle with care.", "Made of glass.", "Delicate ceramic finish."),
    ),
    "liquid": (("Liquid", "Bottled"), ("Bottle, 500 ml.", "Liquid: keep upright.")),
    "battery": (("Rechargeable", "Wireless"), ("Lithium battery included.", "Battery-powered.")),
    "flat": (("Flat", "Slim"), ("Flat design.", "Ultra-slim profile.")),
    "heavy": (("Heavy-Duty", "Solid"), ("Heavy item: two-person lift.", "Solid build.")),
}
_ATTRIBUTE_P = 0.7  # P(an attribute that holds is mentioned)
_ATTRIBUTE_NOISE_P = 0.02  # P(an attribute that does not hold is mentioned anyway)
_TEXT_NULL_P = {"title": 0.01, "description": 0.06, "category_path": 0.03}

# Phrases explaining label noise, per package type: (why it does not fit, why it fits).
NOISE_HINTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mailer": (
        ("Glass parts inside.", "Rigid frame, does not bend."),
        ("Flat packed.", "Slim, fits a letterbox."),
    ),
    "bag": (
        ("Sharp edges.", "Hard shell, easily crushed."),
        ("Soft and foldable.", "Unbreakable, crush-proof."),
    ),
    "box": (
        ("Oversized: ships on a pallet.", "Too long for standard boxes."),
        ("Fragile, needs padding.", "Glass bottle inside."),
    ),
    "sioc": (
        ("Loose parts, needs an outer carton.", "Thin retail packaging only."),
        ("Sturdy double-wall carton.", "Ships in its own sturdy box."),
    ),
}
# The same for a package type without its own phrases (one added to the configuration).
GENERIC_NOISE_HINTS: tuple[tuple[str, ...], tuple[str, ...]] = (
    ("Awkward shape, does not fit.", "Needs special handling."),
    ("Compact and easy to pack.", "Fits standard packaging."),
)
_HINT_P = 0.8  # P(a flipped label is explained in the description)
_HINT_NOISE_P = 0.01  # P(an unflipped row gets one of its type's phrases anyway)


def _pick(
    rng: np.random.Generator,
    vocab: Sequence[str],
    present: np.ndarray,
    index: np.ndarray | None = None,
) -> pa.Array:
    """One vocab entry per row (random unless `index` is given), null where not present."""
    n = len(present)
    chosen = rng.integers(0, len(vocab), size=n) if index is None else index
    return pc.take(pa.array(vocab, pa.string()), pa.array(chosen, mask=~present))


def _per_category(
    rng: np.random.Generator, table: tuple[tuple[str, ...], ...], category: np.ndarray
) -> pa.Array:
    """A random entry of each row's category's tuple."""
    flat = [entry for entries in table for entry in entries]
    sizes = np.array([len(entries) for entries in table])
    starts = np.concatenate([[0], sizes.cumsum()[:-1]])
    index = starts[category] + (rng.random(len(category)) * sizes[category]).astype(np.int64)
    return _pick(rng, flat, np.ones(len(category), dtype=bool), index)


def _join(parts: Sequence[pa.Array], separator: str) -> pa.Array:
    """Non-null parts joined per row; null where every part is null.

    (A trailing empty part keeps every row: pyarrow 25's null_handling="skip" drops rows
    whose parts are all null. Its separator is then trimmed away.)
    """
    empty = pa.scalar("", pa.string())
    joined = pc.binary_join_element_wise(*parts, empty, separator, null_handling="skip")
    joined = pc.utf8_rtrim(joined, characters=separator)
    return pc.if_else(pc.equal(joined, empty), pa.scalar(None, pa.string()), joined)


def _with_nulls(rng: np.random.Generator, column: pa.Array, rate: float) -> pa.Array:
    """`column` with a `rate` share of rows set to null."""
    mask = pa.array(rng.random(len(column)) < rate)
    return pc.if_else(mask, pa.scalar(None, pa.string()), column)


def _product_text(
    rng: np.random.Generator,
    category: np.ndarray,
    attributes: dict[str, np.ndarray],
) -> dict[str, pa.Array]:
    """title, description, category_path per product (see the module doc)."""
    n = len(category)
    mentioned = {
        name: rng.random(n) < np.where(holds, _ATTRIBUTE_P, _ATTRIBUTE_NOISE_P)
        for name, holds in attributes.items()
    }
    # The title names at most one attribute: the first mentioned, in _ATTRIBUTE_TEXT order.
    title_attribute = pa.nulls(n, pa.string())
    for name in reversed(list(_ATTRIBUTE_TEXT)):
        words = _pick(rng, _ATTRIBUTE_TEXT[name][0], mentioned[name])
        title_attribute = pc.coalesce(words, title_attribute)
    title = _join(
        [
            _pick(rng, _MODIFIERS, rng.random(n) < 0.4),
            _pick(rng, _COLOURS, rng.random(n) < 0.3),
            title_attribute,
            _per_category(rng, _NOUNS, category),
        ],
        " ",
    )
    sentences = [_pick(rng, _ATTRIBUTE_TEXT[name][1], mentioned[name]) for name in _ATTRIBUTE_TEXT]
    filler = [_pick(rng, _FILLER, rng.random(n) < p) for p in (0.9, 0.5)]
    description = _join([*sentences, *filler], " ")
    path = _per_category(rng, _PATHS, category)
    return {
        "title": _with_nulls(rng, title, _TEXT_NULL_P["title"]),
        "description": _with_nulls(rng, description, _TEXT_NULL_P["description"]),
        "category_path": _with_nulls(rng, path, _TEXT_NULL_P["category_path"]),
    }


def _noise_hints(
    rng: np.random.Generator, package_type: str, label: np.ndarray, flip: np.ndarray
) -> pa.Array:
    """Per row, a phrase explaining its (flipped) label, or noise, or null."""
    unsuitable, suitable = NOISE_HINTS.get(package_type, GENERIC_NOISE_HINTS)
    n = len(label)
    told = np.where(flip, rng.random(n) < _HINT_P, rng.random(n) < _HINT_NOISE_P)
    says_yes = np.where(flip, label == 1, rng.random(n) < 0.5)
    return pc.coalesce(
        _pick(rng, unsuitable, told & ~says_yes), _pick(rng, suitable, told & says_yes)
    )


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
    """Table of n products with RAW_SCHEMA (missing_rate of weight/price/category null)."""
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
    # Text from its own stream: the columns above are what they were before text existed.
    shortest = dims.min(axis=1)
    attributes = {
        "fragile": fragility >= 2,
        "liquid": is_liquid,
        "battery": has_battery,
        "flat": shortest <= 3.0,
        "heavy": weight > 5.0,
    }
    columns.update(_product_text(np.random.default_rng([seed, 2]), category, attributes))
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
        rule = _generic_rule(package_type, volume_l, longest, weight, fragility, tighten)
    return rule.astype(np.int32)


_PACKAGE_TYPE_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def _generic_rule(
    package_type: str,
    volume_l: np.ndarray,
    longest: np.ndarray,
    weight: np.ndarray,
    fragility: np.ndarray,
    tighten: float,
) -> np.ndarray:
    """A package type without a hand-written rule (one added to the configuration): up to
    a volume, a length and a weight, and a fragility, all fixed by its name (stable across
    runs and machines), so every new type has labels a model can learn."""
    if not _PACKAGE_TYPE_NAME.fullmatch(package_type) or len(package_type) > 16:
        raise ValueError(
            f"package type {package_type!r}: 1-16 lowercase letters, digits, single hyphens"
        )
    digest = hashlib.sha256(package_type.encode()).digest()
    max_volume = (2.0, 5.0, 10.0, 20.0)[digest[0] % 4]  # litres
    max_longest = (30.0, 45.0, 60.0, 90.0)[digest[1] % 4]  # cm
    max_weight = (0.5, 1.5, 3.0, 6.0)[digest[2] % 4]  # kg
    max_fragility = digest[3] % 3
    return (
        (volume_l <= max_volume * tighten)
        & (longest <= max_longest)
        & (weight <= max_weight * tighten)
        & (fragility <= max_fragility)
    )


def _swap_labels(rng: np.random.Generator, label: np.ndarray, rate: float) -> np.ndarray:
    """`label` with a `rate` share of rows flipped, positives and negatives in equal
    expected numbers, so the positive rate stays (capped at flipping every row of the
    rarer class when `rate` exceeds twice its share)."""
    share = float(label.mean()) if len(label) else 0.0
    if rate <= 0 or share in (0.0, 1.0):
        return label
    chance = np.where(label == 1, rate / (2 * share), rate / (2 * (1 - share)))
    flip = rng.random(len(label)) < np.minimum(chance, 1.0)
    return np.where(flip, 1 - label, label).astype(np.int32)


def generate_training_set(
    n: int,
    *,
    seed: int,
    package_types: Sequence[str] = PACKAGE_TYPES,
    drift: float = 0.0,
    label_noise: float = 0.05,
    null_label_rate: float = 0.0,
    unexplained_noise: float = 0.0,
) -> pa.Table:
    """Long table (n x len(package_types) rows): RAW_SCHEMA + package_type + label (int32).

    The products' descriptions also explain most label-noise flips (module doc), so one
    product's text depends on the package types generated with it. `unexplained_noise`
    flips a further share with no hint, keeping the positive rate (module doc); 0 leaves
    the table exactly as without it.
    """
    for name, value in (("label_noise", label_noise), ("unexplained_noise", unexplained_noise)):
        if not 0.0 <= value < 0.5:
            raise ValueError(f"{name} must be within [0, 0.5), got {value}")
    products = generate_products(n, seed=seed, drift=drift)
    rng = np.random.default_rng([seed, 1])
    hint_rng = np.random.default_rng([seed, 3])  # own stream: labels stay as they were
    swap_rng = np.random.default_rng([seed, 4])  # own stream too
    labels, hints = [], []
    for package_type in package_types:
        label = suitability(products, package_type, drift=drift)
        flip = rng.random(n) < label_noise
        label = np.where(flip, 1 - label, label).astype(np.int32)
        mask = _null_mask(rng, n, null_label_rate)
        hints.append(_noise_hints(hint_rng, package_type, label, flip))
        label = _swap_labels(swap_rng, label, unexplained_noise)
        labels.append((package_type, pa.array(label, mask=mask)))
    if hints:
        position = products.schema.get_field_index("description")
        description = _join([products.column("description").combine_chunks(), *hints], " ")
        products = products.set_column(position, products.schema.field(position), description)
    parts = [
        products.append_column(
            "package_type", pa.array(np.full(n, package_type, dtype=object), pa.string())
        ).append_column("label", label)
        for package_type, label in labels
    ]
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
    parser.add_argument("--unexplained-noise", type=float, default=0.0)
    parser.add_argument("--rows-per-file", type=int, default=250_000)
    args = parser.parse_args(argv)
    table = generate_training_set(
        args.rows,
        seed=args.seed,
        drift=args.drift,
        label_noise=args.label_noise,
        unexplained_noise=args.unexplained_noise,
    )
    paths = write_parquet(table, args.out, rows_per_file=args.rows_per_file)
    print(f"wrote {table.num_rows} rows to {len(paths)} file(s) in {args.out}")


if __name__ == "__main__":
    main()
