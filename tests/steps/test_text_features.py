"""features' text helpers: text_tokens normalisation, bounds, nulls, the Arrow column builder,
the raw schema's text columns and the extract SQL selecting them."""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline_defs.steps import features as f

# What a normalised token string may be: [a-z0-9] words joined by single spaces, or empty.
TOKENS = re.compile(r"(?:[a-z0-9]+(?: [a-z0-9]+)*)?")
SQL_DIR = Path(__file__).resolve().parents[2] / "lambda_src" / "extract" / "sql"


def test_column_name_and_raw_text_columns() -> None:
    assert f.TEXT_COLUMN == "text_tokens"
    assert f.RAW_TEXT_COLUMNS == ("title", "description", "category_path")
    assert tuple(f.RAW_SCHEMA.names) == f.RAW_COLUMNS + f.RAW_TEXT_COLUMNS
    for name in f.RAW_TEXT_COLUMNS:
        field = f.RAW_SCHEMA.field(name)
        assert field.type == pa.string() and field.nullable
    # The tabular contract is untouched: the text columns are not required by compute_features.
    assert not set(f.RAW_TEXT_COLUMNS) & set(f.REQUIRED_COLUMNS)


@pytest.mark.parametrize(
    ("title", "description", "category_path", "expected"),
    [
        (
            "Glass VASE, 30cm — Fragile!",
            None,
            "Home & Kitchen > Décor",
            "glass vase 30cm fragile home kitchen decor",
        ),
        (
            "Kid's  T-Shirt",
            "Soft\tcotton;\r\nmachine-washable.",
            None,
            "kids t shirt soft cotton machine washable",
        ),
        ('"Quoted", title', "a,b,,c", "X>Y", "quoted title x y a b c"),
        ("Crème BRÛLÉE set", "Ñandú 2\u00d7", "", "creme brulee set nandu 2"),
        ("", "", "", ""),
        ("🙂 ✓ ,,, ", None, None, ""),
    ],
)
def test_normalises_to_lowercase_ascii_words(
    title: str | None, description: str | None, category_path: str | None, expected: str
) -> None:
    assert f.text_tokens(title, description, category_path) == expected


def test_order_is_title_then_category_path_then_description() -> None:
    assert f.text_tokens("b", "d", "c") == "b c d"


@pytest.mark.parametrize(
    "raw",
    [
        'a,"b",\nc\r\nd',
        "tab\there\x00nul\x1fctl\x7fdel",
        "semi;colon|pipe\\back/slash'apos`tick",
        "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",  # noqa: RUF001 (fullwidth letters on purpose)
        "İstanbul ǅemal ﬁle",  # letters whose lowercase or NFKD form expands
        "\u2028line\u2029para\u0085nel",
    ],
)
def test_no_separators_survive(raw: str) -> None:
    tokens = f.text_tokens(raw, raw, raw)
    assert TOKENS.fullmatch(tokens), tokens
    assert not set(tokens) & set(',"\n\r\t\x00;')


def test_length_is_bounded_and_the_title_comes_first() -> None:
    description = " ".join(f"word{i}" for i in range(5_000))
    tokens = f.text_tokens("Fragile glass", description, "x" * 500).split(" ")
    assert len(tokens) == f.MAX_TEXT_TOKENS
    assert tokens[:2] == ["fragile", "glass"]
    assert tokens[2] == "x" * f.MAX_TOKEN_CHARS
    assert all(len(token) <= f.MAX_TOKEN_CHARS for token in tokens)
    longest = f.text_tokens(*(("y" * 99 + " ") * 200,) * 3)
    assert len(longest) <= f.MAX_TEXT_CHARS
    assert f.MAX_TEXT_CHARS == f.MAX_TEXT_TOKENS * (f.MAX_TOKEN_CHARS + 1) - 1


def _reference(title: str | None, description: str | None, category_path: str | None) -> str:
    """The documented normalisation, written plainly in Python (an independent oracle)."""
    text = " ".join(value or "" for value in (title, category_path, description))
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).lower()
        text = "".join(c for c in text if unicodedata.category(c) != "Mn" and c != "\u2019")
    text = re.sub(r"[^a-z0-9]+", " ", text.replace("'", "").lower())
    return " ".join(word[: f.MAX_TOKEN_CHARS] for word in text.split()[: f.MAX_TEXT_TOKENS])


ALPHABET = (
    "abcxyzABCXYZ0189 ,.;:!?'\"-_/\\()<>&%$#@\t\n\r"
    "éÉüÜñÑçÇøØßæ\u2019\u201c\u201d\u2014\u2013\u2026🙂中文\ufb01\uff21\uff42\uff11\u0301"
)


def test_batch_normalisation_agrees_with_a_plain_python_reference() -> None:
    rng = random.Random(20261123)

    def value() -> str | None:
        if rng.random() < 0.1:
            return None
        words = rng.choice([3, 10, 60, 200])
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, words * 4)))

    rows = [(value(), value(), value()) for _ in range(1_500)]
    column = f.text_column(_raw(rows)).to_pylist()
    mismatches = [
        (row, got, want)
        for row, got in zip(rows, column, strict=True)
        if got != (want := _reference(*row))
    ]
    assert not mismatches, mismatches[:3]
    assert sum(bool(v) for v in column) > 1_000  # the sample is not trivially empty


def test_nulls_are_empty_text() -> None:
    assert f.text_tokens(None, None, None) == ""
    assert f.text_tokens(None, "Flat pack", None) == "flat pack"
    assert f.text_tokens(None) == ""


def test_normalising_twice_changes_nothing() -> None:
    once = f.text_tokens("Glass VASE, 30cm — Fragile!", "Ünïcode ☃ text" * 40, "A > B")
    assert f.text_tokens(once) == once
    assert f.normalise_text(pa.array([once, "", None])).to_pylist() == [once, "", ""]


def _raw(rows: list[tuple[str | None, str | None, str | None]]) -> pa.Table:
    titles, descriptions, paths = zip(*rows, strict=True)
    return pa.table(
        {
            "product_id": [f"p{i}" for i in range(len(rows))],
            "title": pa.array(titles, pa.string()),
            "description": pa.array(descriptions, pa.string()),
            "category_path": pa.array(paths, pa.string()),
        }
    )


ROWS = [
    ("Glass Vase", "Handle with care", "Home > Decor"),
    (None, None, None),
    ("Flat, slim", None, "Office"),
    (None, "Bottle 500ml", None),
    ("", "", ""),
]


def test_column_from_a_batch_matches_the_scalar_function_row_by_row() -> None:
    table = _raw(ROWS)
    column = f.text_column(table)
    assert column.type == pa.string() and column.null_count == 0
    assert column.to_pylist() == [f.text_tokens(*row) for row in ROWS]
    assert column.to_pylist() == [
        "glass vase home decor handle with care",
        "",
        "flat slim office",
        "bottle 500ml",
        "",
    ]
    batch = table.combine_chunks().to_batches()[0]
    assert f.text_column(batch).equals(column)


def test_column_accepts_chunked_large_and_dictionary_strings() -> None:
    table = _raw(ROWS)
    chunked = pa.concat_tables([table.slice(0, 2), table.slice(2)])
    assert chunked.column("title").num_chunks == 2
    cast = table.cast(
        pa.schema(
            [
                pa.field("product_id", pa.string()),
                pa.field("title", pa.large_string()),
                pa.field("description", pa.dictionary(pa.int32(), pa.string())),
                pa.field("category_path", pa.string()),
            ]
        )
    )
    expected = f.text_column(table).to_pylist()
    assert f.text_column(chunked).to_pylist() == expected
    assert f.text_column(cast).to_pylist() == expected


def test_missing_text_columns_are_named() -> None:
    with pytest.raises(ValueError, match=r"\['category_path', 'description'\]"):
        f.text_column(_raw(ROWS).drop_columns(["category_path", "description"]))


def test_compute_features_ignores_the_text_columns() -> None:
    from pipeline_defs import synthetic_data

    products = synthetic_data.generate_products(300, seed=5)
    assert set(f.RAW_TEXT_COLUMNS) <= set(products.column_names)
    tabular = products.select(list(f.RAW_COLUMNS))
    assert (f.compute_features(products) == f.compute_features(tabular)).all()


@pytest.mark.parametrize("name", ["training.sql", "inference_daily.sql", "inference_monthly.sql"])
def test_extract_queries_select_the_text_columns(name: str) -> None:
    body = "\n".join(
        line
        for line in (SQL_DIR / name).read_text().splitlines()
        if not line.lstrip().startswith("--")
    )
    selected = body.split("FROM")[0]
    for column in (*f.RAW_COLUMNS, *f.RAW_TEXT_COLUMNS):
        assert re.search(rf"\bp\.{column}\b", selected), (name, column)
