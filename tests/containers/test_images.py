"""The image pins agree with the images the platform configures (fast; no venv is built).

Every SageMaker image a pipeline definition names (each architecture's training/serving
image, the processing image of `ml.sklearn_version`) has a pins file whose reference is
that image, and every pins file is for such an image: change an image version in one
place without the other and this fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from containers import images, sandbox
from pkgml_contracts.architectures import discover
from tests.pipelines.definition import all_steps, model_containers

ROOT = Path(__file__).resolve().parents[2]


def _image_uris(doc: dict) -> set[str]:
    uris = set()
    for step in all_steps(doc):
        arguments = step["Arguments"]
        for value in (
            arguments.get("AppSpecification", {}).get("ImageUri"),
            arguments.get("AlgorithmSpecification", {}).get("TrainingImage"),
        ):
            if isinstance(value, str):
                uris.add(value)
    uris |= {c["Image"] for _, c in model_containers(doc) if isinstance(c.get("Image"), str)}
    return uris


@pytest.fixture(scope="module")
def configured_uris() -> set[str]:
    """The image URIs of the training pipeline of every architecture and of inference,
    with cdk.json's processing image version."""
    from pipeline_defs.inference import build_inference_pipeline
    from pipeline_defs.training import build_training_pipeline
    from tests.pipelines.conftest import inference_inputs, training_inputs

    version = json.loads((ROOT / "cdk.json").read_text())["context"]["defaults"]["ml"][
        "sklearn_version"
    ]
    uris: set[str] = set()
    for architecture in discover(ROOT / "pipeline_defs" / "architectures").values():
        doc = build_training_pipeline(
            training_inputs(architecture=architecture, sklearn_version=version)
        )
        uris |= _image_uris(json.loads(doc))
    inference = build_inference_pipeline(inference_inputs(sklearn_version=version))
    return uris | _image_uris(json.loads(inference))


def test_every_configured_image_has_pins_and_every_pins_file_is_used(
    configured_uris: set[str],
) -> None:
    assert configured_uris, "no image URIs found in the definitions"
    used = {images.image_of_uri(uri).key for uri in configured_uris}
    assert used == set(images.images()), (
        f"pins files without a configured image: {set(images.images()) - used}"
    )


def test_the_pins_name_the_architectures_images() -> None:
    for architecture in discover(ROOT / "pipeline_defs" / "architectures").values():
        image = images.image_for(architecture.framework, architecture.framework_version)
        module = image.environment["SAGEMAKER_TRAINING_MODULE"]
        assert module.startswith(f"sagemaker_{architecture.framework}_container.")


def test_an_unknown_image_uri_is_refused_with_the_known_ones() -> None:
    with pytest.raises(images.ImageError, match=r"sagemaker-scikit-learn:1\.9-0-cpu-py3"):
        images.image_of_uri(
            "1.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
        )


def test_pins_files_parse_with_their_toolkits_and_patches() -> None:
    sklearn = images.image_for("sklearn", "1.9-0")
    assert sklearn.python == "3.12"
    assert sklearn.pins["sagemaker-training"] == "4.8.0"
    assert sklearn.pins["pip"] == "26.1.2" and "wheel" not in sklearn.pins
    xgboost = images.image_for("xgboost", "3.0-5")
    assert (xgboost.python, xgboost.pins["xgboost"], xgboost.pins["pip"]) == (
        "3.10",
        "3.0.5",
        "25.2",
    )
    for image in (sklearn, xgboost):
        assert [p.path for p in image.patches] == [
            "sagemaker_containers/_mapping.py",
            "sagemaker_inference/decoder.py",
        ]


_HEADER = "# image: sklearn 1.9-0\n# python: 3.12\n# reference: r\n# source: s\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_HEADER + "numpy>=2\n", "expected name==version"),
        (_HEADER + "pip==1\npip==2\n", "pinned twice"),
        ("# image: sklearn 1.9-0\n# reference: r\n# source: s\npip==1\n", "lacks # python:"),
        (_HEADER.replace("sklearn 1.9-0", "xgboost 3.0-5") + "pip==1\n", "names image xgboost"),
        (_HEADER + "# patch: a | b\npip==1\nsetuptools==1\n", "a patch is"),
        (_HEADER + "pip==1\n", "pins no setuptools"),
    ],
)
def test_a_malformed_pins_file_is_refused_with_the_reason(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "sklearn-1.9-0.txt"
    path.write_text(text)
    with pytest.raises(images.ImageError, match=message):
        images.read(path)


def test_the_sandbox_refuses_an_opt_ml_folder_under_opt_and_overlays_without_scratch(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="must not live under /opt"):
        sandbox.wrap(["true"], opt_ml=Path("/opt/ml-elsewhere"))
    with pytest.raises(ValueError, match="scratch"):
        sandbox.wrap(["true"], writable=[tmp_path])
    command = sandbox.wrap(["echo", "x"], opt_ml=tmp_path, writable=[tmp_path], scratch=tmp_path)
    assert command[:4] == ["unshare", "--net", "--mount", "--"]
    assert command[-2:] == ["echo", "x"]
