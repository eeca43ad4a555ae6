"""Feature engineering shared by training and streaming inference (numpy + pyarrow only).

`compute_features` turns raw product rows (`RAW_COLUMNS`) into a float32 matrix whose
columns are `FEATURE_COLUMNS`, in that order. It is stateless (nothing is fitted), so the
training step and the inference prepare step produce identical features for identical rows.

Null and invalid-value handling (explicit, no fitted statistics):

- length/width/height: null, NaN, infinite or <= 0 -> the fixed default `IMPUTE_DIM_CM`
  (each side independently); `dims_missing` = 1 if any side was imputed.
- weight_kg: null, non-finite or < 0 -> `IMPUTE_WEIGHT_KG`; `weight_missing` = 1.
- price: null, non-finite or < 0 -> `IMPUTE_PRICE`; `price_missing` = 1.
- fragility: null or non-finite -> `IMPUTE_FRAGILITY`; values are rounded and clipped to 0..3.
- is_liquid / has_battery: null -> 0 (False).
- category: trimmed and lower-cased; null or not in `CATEGORIES` -> "other".

Text (for architectures whose inputs include "text"): `RAW_TEXT_COLUMNS` (title,
description, category_path; nullable strings) are not read by `compute_features` and not
required by tabular steps. `text_column` turns them into one normalised token string per
row, `TEXT_COLUMN`, the same function at training and at inference (see `normalise_text`):
lowercase ASCII words `[a-z0-9]+` joined by single spaces, at most `MAX_TEXT_TOKENS` words of
at most `MAX_TOKEN_CHARS` characters, title first, then category path, then description;
null or empty text -> "". It holds no comma, quote or line break: one unquoted CSV field.
"""

from __future__ import annotations

import argparse
from functools import cache
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ID_COLUMN = "product_id"

RAW_COLUMNS: tuple[str, ...] = (
    "product_id",
    "length_cm",
    "width_cm",
    "height_cm",
    "weight_kg",
    "fragility",
    "is_liquid",
    "has_battery",
    "category",
    "price",
)

RAW_SCHEMA = pa.schema(
    [
        pa.field("product_id", pa.string()),
        pa.field("length_cm", pa.float64()),
        pa.field("width_cm", pa.float64()),
        pa.field("height_cm", pa.float64()),
        pa.field("weight_kg", pa.float64()),
        pa.field("fragility", pa.int8()),
        pa.field("is_liquid", pa.bool_()),
        pa.field("has_battery", pa.bool_()),
        pa.field("category", pa.string()),
        pa.field("price", pa.float64()),
        pa.field("title", pa.string()),
        pa.field("description", pa.string()),
        pa.field("category_path", pa.string()),
    ]
)

# Product text, after RAW_COLUMNS in RAW_SCHEMA; read only by text_column (nullable).
RAW_TEXT_COLUMNS: tuple[str, ...] = ("title", "description", "category_path")

# Columns compute_features reads; the id is carried alongside, never used as a feature.
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c for c in RAW_COLUMNS if c != ID_COLUMN)

CATEGORIES: tuple[str, ...] = (
    "books",
    "electronics",
    "kitchen",
    "toys",
    "apparel",
    "beauty",
    "grocery",
    "home",
    "other",
)

NUMERIC_FEATURES: tuple[str, ...] = (
    "length_cm",
    "width_cm",
    "height_cm",
    "weight_kg",
    "longest_side_cm",
    "middle_side_cm",
    "shortest_side_cm",
    "volume_l",
    "girth_cm",
    "density_kg_per_l",
    "flatness",
    "fragility",
    "is_liquid",
    "has_battery",
    "log_price",
    "dims_missing",
    "weight_missing",
    "price_missing",
)

CATEGORY_FEATURES: tuple[str, ...] = tuple(f"category_{c}" for c in CATEGORIES)

FEATURE_COLUMNS: tuple[str, ...] = NUMERIC_FEATURES + CATEGORY_FEATURES

# Features whose values are always small whole numbers (flags, one-hots, fragility 0-3).
# Writers may store them as integers: "1" is what a float 1.0 prints as, byte for byte.
INTEGER_FEATURES: frozenset[str] = frozenset(
    (
        "fragility",
        "is_liquid",
        "has_battery",
        "dims_missing",
        "weight_missing",
        "price_missing",
        *CATEGORY_FEATURES,
    )
)

IMPUTE_DIM_CM = 20.0
IMPUTE_WEIGHT_KG = 1.0
IMPUTE_PRICE = 20.0
IMPUTE_FRAGILITY = 1
# Volumes below 1 ml are treated as 1 ml so density stays finite.
MIN_VOLUME_L = 1e-3

_OTHER_INDEX = CATEGORIES.index("other")

ArrowColumn: TypeAlias = pa.Array | pa.ChunkedArray


def _float_column(column: ArrowColumn, name: str) -> np.ndarray:
    """Column as float64 numpy with NaN for null (bool, int, float and decimal accepted)."""
    try:
        as_float = pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise ValueError(
            f"column {name!r} of type {column.type} cannot be read as a number"
        ) from error
    filled = pc.fill_null(as_float, np.nan)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.float64)


def _flag_column(column: ArrowColumn, name: str) -> np.ndarray:
    """Boolean-ish column as 0/1 float64; null -> 0; strings 'true'/'false'/'1'/'0' accepted."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            column = pc.cast(column, pa.bool_())
        except pa.ArrowInvalid as error:
            raise ValueError(f"column {name!r} holds values that are not booleans") from error
    values = _float_column(column, name)
    return np.where(np.isnan(values), 0.0, (values != 0).astype(np.float64))


@cache
def _category_values() -> pa.Array:
    """CATEGORIES as an Arrow array (built on first use: pa.array imports pandas if present)."""
    return pa.array(CATEGORIES, type=pa.string())


def _category_index(column: ArrowColumn) -> np.ndarray:
    """Index into CATEGORIES per row; null/unknown -> index of 'other'."""
    if pa.types.is_dictionary(column.type) or not (
        pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    ):
        column = pc.cast(column, pa.string())
    normalised = pc.utf8_lower(pc.utf8_trim_whitespace(column))
    index = pc.fill_null(pc.index_in(normalised, value_set=_category_values()), _OTHER_INDEX)
    return np.asarray(index.to_numpy(zero_copy_only=False), dtype=np.intp)


def _impute(values: np.ndarray, valid: np.ndarray, default: float) -> np.ndarray:
    """Values where valid, the default elsewhere."""
    return np.where(valid, values, default)


def compute_features(data: pa.RecordBatch | pa.Table) -> np.ndarray:
    """Float32 matrix (n_rows, len(FEATURE_COLUMNS)) from raw rows; see module doc for nulls."""
    missing = [c for c in REQUIRED_COLUMNS if c not in data.schema.names]
    if missing:
        raise ValueError(
            f"input is missing required column(s) {missing}; expected {list(REQUIRED_COLUMNS)}"
        )
    n_rows = data.num_rows
    out = np.empty((n_rows, len(FEATURE_COLUMNS)), dtype=np.float32)

    dims = np.column_stack(
        [_float_column(data.column(name), name) for name in ("length_cm", "width_cm", "height_cm")]
    ).reshape(n_rows, 3)
    dims_valid = np.isfinite(dims) & (dims > 0)
    dims = np.where(dims_valid, dims, IMPUTE_DIM_CM)

    weight = _float_column(data.column("weight_kg"), "weight_kg")
    weight_valid = np.isfinite(weight) & (weight >= 0)
    weight = _impute(weight, weight_valid, IMPUTE_WEIGHT_KG)

    price = _float_column(data.column("price"), "price")
    price_valid = np.isfinite(price) & (price >= 0)
    price = _impute(price, price_valid, IMPUTE_PRICE)

    fragility = _float_column(data.column("fragility"), "fragility")
    fragility = np.clip(np.rint(_impute(fragility, np.isfinite(fragility), IMPUTE_FRAGILITY)), 0, 3)

    sides = np.sort(dims, axis=1)
    shortest, middle, longest = sides[:, 0], sides[:, 1], sides[:, 2]
    volume_l = dims[:, 0] * dims[:, 1] * dims[:, 2] / 1000.0

    columns: dict[str, np.ndarray] = {
        "length_cm": dims[:, 0],
        "width_cm": dims[:, 1],
        "height_cm": dims[:, 2],
        "weight_kg": weight,
        "longest_side_cm": longest,
        "middle_side_cm": middle,
        "shortest_side_cm": shortest,
        "volume_l": volume_l,
        "girth_cm": longest + 2.0 * (middle + shortest),
        "density_kg_per_l": weight / np.maximum(volume_l, MIN_VOLUME_L),
        "flatness": shortest / longest,
        "fragility": fragility,
        "is_liquid": _flag_column(data.column("is_liquid"), "is_liquid"),
        "has_battery": _flag_column(data.column("has_battery"), "has_battery"),
        "log_price": np.log1p(price),
        "dims_missing": (~dims_valid.all(axis=1)).astype(np.float64),
        "weight_missing": (~weight_valid).astype(np.float64),
        "price_missing": (~price_valid).astype(np.float64),
    }
    for position, name in enumerate(NUMERIC_FEATURES):
        out[:, position] = columns[name]

    category = _category_index(data.column("category"))
    one_hot = out[:, len(NUMERIC_FEATURES) :]
    one_hot[:] = 0.0
    one_hot[np.arange(n_rows), category] = 1.0
    return out


# --- text -------------------------------------------------------------------------------

TEXT_COLUMN = "text_tokens"
MAX_TEXT_TOKENS = 64
MAX_TOKEN_CHARS = 24
MAX_TEXT_CHARS = MAX_TEXT_TOKENS * (MAX_TOKEN_CHARS + 1) - 1


def _string_column(column: ArrowColumn) -> pa.Array:
    """One string array (chunks combined; large, dictionary and other types cast)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], pa.string())
    if column.type != pa.string():
        column = pc.cast(column, pa.string())
    return column


def _text_byte_map() -> np.ndarray:
    """Byte -> byte for ASCII text: letters lowercased, digits kept, anything else a space."""
    table = np.full(256, ord(" "), dtype=np.uint8)
    for char in b"abcdefghijklmnopqrstuvwxyz0123456789":
        table[char] = char
    for char in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[char] = char + (ord("a") - ord("A"))
    return table


_TEXT_BYTES = _text_byte_map()


def normalise_text(values: ArrowColumn) -> pa.Array:
    """Normalised token string per value (null -> ""); idempotent (see the module doc).

    Values with non-ASCII characters: Unicode compatibility decomposition (NFKD: fullwidth
    letters -> ASCII, 'é' -> 'e' + accent), lowercase, accents (Mn) and U+2019 apostrophes
    removed. Then ASCII apostrophes removed ("Kid's" -> 'kids'), letters lowercased, every
    other character outside [a-z0-9] a separator; the first MAX_TEXT_TOKENS words, each cut
    to MAX_TOKEN_CHARS characters, joined by single spaces.
    (Vectorised, a byte map rather than a regular expression: about 2 s per million rows.)
    """
    text = pc.fill_null(_string_column(values), "")
    non_ascii = pc.invert(pc.string_is_ascii(text))
    if pc.any(non_ascii).as_py():
        folded = pc.utf8_lower(pc.utf8_normalize(pc.filter(text, non_ascii), form="NFKD"))
        folded = pc.replace_substring_regex(folded, r"[\p{Mn}\x{2019}]+", "")
        text = pc.replace_with_mask(text, non_ascii, folded)
    text = pc.replace_substring(text, "'", "")
    _, offsets, data = text.buffers()
    if data is not None and data.size:
        mapped = pa.py_buffer(_TEXT_BYTES[np.frombuffer(data, dtype=np.uint8)])
        text = pa.StringArray.from_buffers(len(text), offsets, mapped, offset=text.offset)
    words = pc.ascii_split_whitespace(pc.ascii_trim_whitespace(text))
    words = pc.list_slice(words, 0, MAX_TEXT_TOKENS)
    cut = pc.utf8_slice_codeunits(pc.list_flatten(words), 0, MAX_TOKEN_CHARS)
    counts = pc.list_value_length(words).to_numpy(zero_copy_only=False)
    bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(bounds), cut), " ")


def text_column(data: pa.RecordBatch | pa.Table) -> pa.Array:
    """TEXT_COLUMN of raw rows: title, category path and description, normalised together."""
    missing = [c for c in RAW_TEXT_COLUMNS if c not in data.schema.names]
    if missing:
        raise ValueError(
            f"input is missing text column(s) {sorted(missing)}; expected {list(RAW_TEXT_COLUMNS)}"
        )
    parts = [
        pc.fill_null(_string_column(data.column(name)), "")
        for name in ("title", "category_path", "description")
    ]
    return normalise_text(pc.binary_join_element_wise(*parts, " "))


def text_tokens(
    title: str | None, description: str | None = None, category_path: str | None = None
) -> str:
    """The normalised token string of one product's text (text_column for a single row)."""
    row = pa.table(
        {
            name: pa.array([value], pa.string())
            for name, value in zip(
                RAW_TEXT_COLUMNS, (title, description, category_path), strict=True
            )
        }
    )
    return str(text_column(row)[0].as_py())


def add_text_option(parser: argparse.ArgumentParser, what: str) -> None:
    """`--with-text [true|false]` (bare: true; default false): append TEXT_COLUMN to `what`.

    A value as well as a bare flag, so a pipeline can pass a step output (the inference
    pipeline passes whether the resolved champion reads text).
    """
    parser.add_argument(
        "--with-text",
        nargs="?",
        const="true",
        default="false",
        choices=("true", "false"),
        help=f"append the {TEXT_COLUMN} column to {what} (architectures with text inputs)",
    )
