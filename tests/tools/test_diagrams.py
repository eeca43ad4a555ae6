"""tools/diagrams.py: graphs drawn from the definitions, deterministic, committed copies fresh."""

from __future__ import annotations

import copy
import re
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline_defs import definition_graph
from tools import diagrams

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def definitions() -> dict[str, dict[str, Any]]:
    """Both definitions, built once per session (the SDK import and builds cost seconds)."""
    return diagrams.build_definitions()


def declared_nodes(mermaid: str) -> list[str]:
    return re.findall(r"^\s+(step_[A-Za-z0-9_]+)[\[\(\{]", mermaid, flags=re.MULTILINE)


def test_every_step_of_every_definition_is_drawn(definitions: dict[str, dict[str, Any]]) -> None:
    from pipeline_defs import inference, training

    files = diagrams.mermaid_files(definitions)
    from pipeline_defs.architectures import architectures

    expected = {
        "training": training.step_names(architectures()["hgb"]),
        "inference": inference.STEP_NAMES,
    }
    for kind in ("training", "inference"):
        steps = [s["Name"] for s in definition_graph.all_steps(definitions[kind])]
        assert sorted(steps) == sorted(expected[kind])
        drawn = declared_nodes(files[f"pipelines/{kind}.mmd"])
        assert sorted(drawn) == sorted(f"step_{name}" for name in steps)


def test_edges_follow_references_and_branches(definitions: dict[str, dict[str, Any]]) -> None:
    files = diagrams.mermaid_files(definitions)
    training = files["pipelines/training.mmd"].splitlines()
    for edge in (
        'step_Split -->|"train, validation"| step_Train',
        'step_Train -->|"S3ModelArtifacts"| step_CreateModel',
        'step_CreateModel -->|"ModelName"| step_EvaluateTransform',
        'step_Compare -->|"GateDecision"| step_Gate',
        'step_Gate -->|"if"| step_RegisterApproved',
        'step_Gate -->|"else"| step_RegisterRejected',
    ):
        assert f"  {edge}" in training
    assert any("decision == approve" in line for line in training)
    inference = files["pipelines/inference.mmd"].splitlines()
    assert '  step_Resolve -->|"model_package_arn"| step_CreateModel' in inference
    assert '  step_Prepare -->|"features"| step_Predict' in inference


def test_two_renders_are_byte_identical(definitions: dict[str, dict[str, Any]]) -> None:
    first = diagrams.mermaid_files(definitions)
    second = diagrams.mermaid_files(copy.deepcopy(definitions))
    assert first == second
    assert all(text.endswith("\n") for text in first.values())
    dot_first = [diagrams.render_dot(g) for g in diagrams.graphs(definitions).values()]
    dot_second = [diagrams.render_dot(g) for g in diagrams.graphs(definitions).values()]
    assert dot_first == dot_second


def test_committed_diagrams_are_fresh(definitions: dict[str, dict[str, Any]]) -> None:
    stale = diagrams.stale_files(diagrams.DEFAULT_OUT, definitions)
    assert stale == [], f"stale diagrams {stale}: run `make diagrams` and commit docs/"


def test_architecture_matches_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```mermaid\n(.*?)```", readme, flags=re.DOTALL)
    assert block is not None
    ours = diagrams.render_mermaid(diagrams.architecture_graph())
    readme_ids = set(re.findall(r"\b([A-Za-z]+)[\[\(]", block.group(1)))
    our_ids = {node.id for node in diagrams.architecture_graph().nodes}
    assert readme_ids <= our_ids
    for label in re.findall(r"\|([^|]+)\|", block.group(1)):
        assert f'|"{label}"|' in ours


def test_depends_on_is_dashed_and_order_is_topological() -> None:
    definition: dict[str, Any] = {
        "Parameters": [{"Name": "RunId", "Type": "String"}],
        "Steps": [
            {"Name": "end", "Type": "Processing", "Arguments": {}, "DependsOn": ["Check"]},
            {
                "Name": "Check",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [
                        {"Type": "GreaterThan", "LeftValue": {"Get": "Steps.A.X"}, "RightValue": 1}
                    ],
                    "IfSteps": [{"Name": "Yes", "Type": "Lambda", "Arguments": {}}],
                    "ElseSteps": [{"Name": "No", "Type": "Fail", "Arguments": {}}],
                },
            },
            {"Name": "A", "Type": "Training", "Arguments": {}},
        ],
    }
    graph = diagrams.step_graph("t", definition)
    assert [n.title for n in graph.nodes] == ["A", "Check", "end", "Yes", "No"]
    text = diagrams.render_mermaid(graph)
    assert "  step_Check -.-> step_end" in text
    assert '  step_A -->|"X"| step_Check' in text
    assert "X > 1" in text
    assert "%% Parameters: RunId" in text
    dot = diagrams.render_dot(graph)
    assert '"step_Check" -> "step_end" [style=dashed];' in dot
    assert '"step_Check" -> "step_Yes" [label="if"];' in dot

    definition["Steps"][2]["DependsOn"] = ["end"]
    with pytest.raises(ValueError, match="cycle"):
        diagrams.step_graph("t", definition)


def test_svg_only_with_dot(
    definitions: dict[str, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes: list[str] = []
    diagrams.write_all(tmp_path / "plain", definitions, dot=None, say=notes.append)
    assert not list((tmp_path / "plain").rglob("*.svg"))
    assert any("SVG skipped" in note for note in notes)

    fake_dot = tmp_path / "dot"
    fake_dot.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "text = sys.stdin.read()\n"
        "assert sys.argv[1:] == ['-Tsvg'] and text.rstrip().endswith('}')\n"
        "print('<svg><!--', len(text), '--></svg>')\n"
    )
    fake_dot.chmod(fake_dot.stat().st_mode | stat.S_IEXEC)
    written = diagrams.write_all(tmp_path / "svg", definitions, dot=str(fake_dot), say=notes.append)
    svgs = sorted(p.relative_to(tmp_path / "svg").as_posix() for p in written if p.suffix == ".svg")
    assert svgs == ["architecture.svg", "pipelines/inference.svg", "pipelines/training.svg"]
    assert (
        diagrams.write_all(tmp_path / "svg", definitions, dot=str(fake_dot), say=notes.append) == []
    )


def test_main_writes_and_checks(
    definitions: dict[str, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(diagrams, "build_definitions", lambda: definitions)
    monkeypatch.setattr(diagrams.shutil, "which", lambda name: None)
    assert diagrams.main(["--out", str(tmp_path), "--check"]) == 1
    assert diagrams.main(["--out", str(tmp_path)]) == 0
    assert diagrams.main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "pipelines" / "training.mmd").write_text("flowchart TD\n")
    assert diagrams.main(["--out", str(tmp_path), "--check"]) == 1
