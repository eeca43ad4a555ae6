"""Step code bundles: each script with exactly the sibling modules it imports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stacks.components.step_code import (
    STEP_CODE_DIR,
    bundle_hashes,
    code_bundles,
    stage_bundles,
)


def names(paths: list[Path]) -> list[str]:
    return sorted(p.name for p in paths)


def test_bundles_hold_the_script_and_its_sibling_imports():
    bundles = code_bundles()
    assert "compare.py" not in names(bundles["split"])
    assert "features.py" in names(bundles["split"])
    assert names(bundles["features"]) == ["features.py"]
    assert "predictions_table.sql" in names(bundles["load"])
    assert "__init__" not in bundles


@pytest.mark.parametrize(
    ("changed_file", "expected"),
    [
        # nothing imports compare.py
        ("compare.py", {"compare"}),
        # Read from the imports, not from the bundler: split imports (lazily) profile_limits,
        # quality_checks, quality_counter and feature_baseline; prepare imports split,
        # profile_limits, quality_checks, quality_counter and drift_stats; evaluate imports
        # split and score_stats; drift imports profile_limits, quality_counter, drift_stats and
        # score_stats;
        # load imports drift. Among the new modules: quality_checks imports profile_limits;
        # quality_counter profile_limits and quality_checks; drift_stats feature_baseline and
        # profile_limits; score_stats feature_baseline, profile_limits and drift_stats.
        (
            "profile_limits.py",
            {
                "profile_limits",
                "quality_checks",
                "quality_counter",
                "drift_stats",
                "score_stats",
                "split",
                "prepare",
                "evaluate",
                "drift",
                "load",
            },
        ),
        (
            "quality_checks.py",
            {"quality_checks", "quality_counter", "split", "prepare", "evaluate", "drift", "load"},
        ),
        (
            "quality_counter.py",
            {"quality_counter", "split", "prepare", "evaluate", "drift", "load"},
        ),
        (
            "feature_baseline.py",
            {
                "feature_baseline",
                "drift_stats",
                "score_stats",
                "split",
                "prepare",
                "evaluate",
                "drift",
                "load",
            },
        ),
        (
            "drift_stats.py",
            {"drift_stats", "score_stats", "prepare", "evaluate", "drift", "load"},
        ),
        ("score_stats.py", {"score_stats", "evaluate", "drift", "load"}),
    ],
)
def test_a_change_invalidates_exactly_the_bundles_that_run_the_changed_file(
    tmp_path, changed_file, expected
):
    folder = tmp_path / "steps"
    shutil.copytree(STEP_CODE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    before = bundle_hashes(folder)
    with (folder / changed_file).open("a") as handle:
        handle.write("\n# a comment changes the content\n")
    after = bundle_hashes(folder)
    assert {stem for stem in before if before[stem] != after[stem]} == expected


def test_transitive_imports_are_followed(tmp_path):
    (tmp_path / "a.py").write_text("import b\n")
    (tmp_path / "b.py").write_text("from c import x\n")
    (tmp_path / "c.py").write_text("x = 1\nimport json\nd = _sibling('d')\n")
    (tmp_path / "d.py").write_text("")
    (tmp_path / "e.py").write_text("")
    assert names(code_bundles(tmp_path)["a"]) == ["a.py", "b.py", "c.py", "d.py"]


def test_staging_lays_out_one_folder_per_bundle_hash(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("import b\n")
    (tmp_path / "src" / "b.py").write_text("")
    staged = stage_bundles(tmp_path / "src", tmp_path / "staging")
    hashes = bundle_hashes(tmp_path / "src")
    assert sorted(p.name for p in staged.iterdir()) == sorted(hashes.values())
    assert sorted(p.name for p in (staged / hashes["a"]).iterdir()) == ["a.py", "b.py"]
    assert stage_bundles(tmp_path / "src", tmp_path / "staging") == staged  # idempotent


def test_scripts_that_import_the_contracts_ship_the_package():
    from stacks.components.step_code import bundle_name

    bundles = {stem: {bundle_name(p) for p in files} for stem, files in code_bundles().items()}
    assert {
        "pkgml_contracts/__init__.py",
        "pkgml_contracts/registry.py",
        "pkgml_contracts/gate.py",
        "pkgml_contracts/metrics.py",
    } <= bundles["compare"]
    assert not any(name.startswith("pkgml_contracts/") for name in bundles["features"])


def test_each_architecture_ships_its_folder_and_the_steps_it_imports():
    from stacks.components.step_code import architecture_bundles

    bundles = architecture_bundles()
    assert "arch-hgb" in bundles
    hgb = names(bundles["arch-hgb"])
    assert {"architecture.json", "train.py", "features.py", "split.py"} <= set(hgb)
    assert "compare.py" not in hgb


def test_an_architecture_file_may_not_shadow_a_step_module(tmp_path):
    from stacks.components.step_code import architecture_bundles

    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "features.py").write_text("")
    folder = tmp_path / "archs" / "demo"
    folder.mkdir(parents=True)
    (folder / "architecture.json").write_text("{}")
    (folder / "train.py").write_text("import features\n")
    (folder / "features.py").write_text("")
    try:
        architecture_bundles(tmp_path / "archs", tmp_path / "steps")
    except ValueError as error:
        assert "features.py" in str(error)
    else:
        raise AssertionError("a shadowing file was accepted")
