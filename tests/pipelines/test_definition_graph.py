"""pipeline_defs/definition_graph.py on small literal definitions (expectations written out)."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline_defs import definition_graph as graph


def processing(name: str, **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Processing", "Arguments": {}, **extra}


def condition(
    name: str, if_steps: list[Any], else_steps: list[Any], **extra: Any
) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Condition",
        "Arguments": {"Conditions": [], "IfSteps": if_steps, "ElseSteps": else_steps},
        **extra,
    }


def nested() -> dict[str, Any]:
    """A, then Gate (if: B, Inner (if: C, else: D); else: E), then F."""
    return {
        "Steps": [
            processing("A"),
            condition(
                "Gate",
                [processing("B"), condition("Inner", [processing("C")], [processing("D")])],
                [processing("E")],
            ),
            processing("F"),
        ]
    }


def test_all_steps_walks_nested_branches_in_document_order() -> None:
    assert [s["Name"] for s in graph.all_steps(nested())] == [
        "A",
        "Gate",
        "B",
        "Inner",
        "C",
        "D",
        "E",
        "F",
    ]
    assert graph.all_steps({"Steps": []}) == []


def test_iter_steps_takes_a_steps_list_and_yields_the_documents_own_dicts() -> None:
    definition = nested()
    steps = list(graph.iter_steps(definition["Steps"][1:2]))
    assert [s["Name"] for s in steps] == ["Gate", "B", "Inner", "C", "D", "E"]
    assert steps[0] is definition["Steps"][1]


def test_steps_by_name_rejects_missing_and_repeated_names() -> None:
    assert list(graph.steps_by_name(nested())) == ["A", "Gate", "B", "Inner", "C", "D", "E", "F"]
    repeated = {"Steps": [processing("A"), condition("G", [processing("A")], [])]}
    with pytest.raises(graph.DefinitionGraphError, match="step name 'A' is missing or repeated"):
        graph.steps_by_name(repeated)
    with pytest.raises(ValueError, match="step name None is missing or repeated"):
        graph.steps_by_name({"Steps": [{"Type": "Processing"}]})


def test_branch_parents_name_the_innermost_condition_and_branch() -> None:
    assert graph.branch_parents(nested()) == {
        "B": ("Gate", True),
        "Inner": ("Gate", True),
        "C": ("Inner", True),
        "D": ("Inner", False),
        "E": ("Gate", False),
    }


def test_gets_finds_every_get_string() -> None:
    value = {
        "A": {"Get": "Parameters.RunId"},
        "B": [{"Std:Join": {"On": "/", "Values": ["s3:/", {"Get": "Steps.X.Y"}]}}],
        "C": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.E.PropertyFiles.R"}, "Path": "p"}},
        "D": {"Get": 3},  # not a reference
        "E": {"Get": "Steps.Z.W", "Other": 1},  # not a Get expression
        "F": "Steps.Q.R",  # a plain string
    }
    assert list(graph.gets(value)) == ["Parameters.RunId", "Steps.X.Y", "Steps.E.PropertyFiles.R"]


def test_references_read_steps_only_and_keep_the_path() -> None:
    step = processing(
        "Train",
        Arguments={
            "Input": {"Get": "Steps.Split.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"},
            "Run": {"Get": "Parameters.RunId"},
            "Id": {"Get": "Execution.PipelineExecutionId"},
            "Score": {
                "Std:JsonGet": {
                    "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.Report"},
                    "Path": "metrics.auc",
                }
            },
        },
        DependsOn=["Prepare"],
    )
    assert graph.references(step) == [
        ("Split", "ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"),
        ("Evaluate", "PropertyFiles.Report"),
    ]
    assert graph.step_dependencies(step) == {"Split", "Evaluate", "Prepare"}


def test_a_condition_reads_from_its_conditions_not_from_its_branches() -> None:
    gate = condition(
        "Gate",
        [processing("Yes", Arguments={"X": {"Get": "Steps.Late.Properties.X"}})],
        [],
        DependsOn=["Ready"],
    )
    gate["Arguments"]["Conditions"] = [
        {"Type": "Equals", "LeftValue": {"Get": "Steps.Compare.Outcome"}, "RightValue": "go"}
    ]
    assert graph.references(gate) == [("Compare", "Outcome")]
    assert graph.step_dependencies(gate) == {"Compare", "Ready"}
    assert graph.own_part(gate)["Arguments"] == {"Conditions": gate["Arguments"]["Conditions"]}


def test_dependencies_add_the_condition_owning_a_branch() -> None:
    definition = nested()
    definition["Steps"][2]["DependsOn"] = ["E", "A"]
    definition["Steps"][1]["Arguments"]["IfSteps"][0]["Arguments"] = {
        "In": {"Get": "Steps.A.ProcessingJobName"}
    }
    assert graph.dependencies(definition) == {
        "A": [],
        "Gate": [],
        "B": ["A", "Gate"],
        "Inner": ["Gate"],
        "C": ["Inner"],
        "D": ["Inner"],
        "E": ["Gate"],
        "F": ["A", "E"],
    }


def test_unknown_steps_are_errors() -> None:
    definition = {"Steps": [processing("B", Arguments={"X": {"Get": "Steps.Missing.Y"}})]}
    with pytest.raises(
        graph.DefinitionGraphError, match=r"step 'B' refers to unknown step\(s\) \['Missing'\]"
    ):
        graph.dependencies(definition)
    with pytest.raises(graph.DefinitionGraphError, match="unknown"):
        graph.dependencies({"Steps": [processing("B", DependsOn=["Nope"])]})


def test_topological_order_puts_the_first_ready_step_in_document_order_first() -> None:
    assert graph.topological_order({"c": [], "b": [], "a": ["c"]}) == ["c", "b", "a"]
    assert graph.topological_order({"end": ["x", "y"], "y": [], "x": ["y"]}) == ["y", "x", "end"]
    assert graph.topological_order({}) == []


def test_step_order_of_a_definition() -> None:
    definition = {
        "Steps": [
            processing("Report", DependsOn=["Gate"]),
            condition("Gate", [processing("Register")], [processing("Reject")]),
            processing("Train"),
        ]
    }
    definition["Steps"][1]["Arguments"]["Conditions"] = [
        {"Type": "GreaterThan", "LeftValue": {"Get": "Steps.Train.X"}, "RightValue": 1}
    ]
    assert graph.step_order(definition) == ["Train", "Gate", "Report", "Register", "Reject"]
    assert graph.step_order(nested()) == ["A", "Gate", "B", "Inner", "C", "D", "E", "F"]


def test_cycles_are_errors_naming_the_steps_in_the_cycle() -> None:
    with pytest.raises(graph.DefinitionGraphError, match=r"dependency cycle among steps \['A'\]"):
        graph.topological_order({"A": ["A"]})
    definition = {
        "Steps": [
            processing("Start"),
            processing("A", DependsOn=["B", "Start"]),
            processing("B", Arguments={"X": {"Get": "Steps.A.ProcessingJobName"}}),
        ]
    }
    with pytest.raises(ValueError, match=r"dependency cycle among steps \['A', 'B'\]"):
        graph.step_order(definition)
    with pytest.raises(graph.DefinitionGraphError, match=r"unknown step\(s\) \['z'\]"):
        graph.topological_order({"a": ["z"]})
