"""Built-in SageMaker algorithms at training time, emulated: the XGBoost container.

A Training step whose image is a SageMaker XGBoost image and whose hyperparameters name no
`sagemaker_program` runs the container's own algorithm. This module does what that
container (3.0-5 = XGBoost 3.0.5; the library here is xgboost-cpu 3.0.5) does, from its
sources (aws/sagemaker-xgboost-container, `algorithm_mode/`):

- **hyperparameters**: aliases replaced, unknown names refused, values parsed with
  int()/float() and range-checked (`xgboost_parameters`); `num_round` is required;
- **channels**: `train` (required) and `validation` (optional), read as CSV when the
  channel's ContentType is text/csv (label in column 0, no header, the delimiter sniffed
  from the first line); files whose names start with '.' are an error, empty files are
  skipped, and '_' files are data like any other (the container's format check skips
  them, its loader does not) (`xgboost_channel_files`, `xgboost_csv_dmatrix`). The
  container links the files under hash-suffixed names, so its row order varies from run
  to run; here the files are sorted (the same model unless `subsample` < 1);
- **training**: `xgb.train` with train (and validation) watched, one line of metrics per
  round; the master host saves `xgboost-model` into the model directory;
- **several hosts**: each host loads its own files *before* joining the collective (a
  URI DMatrix loaded inside it would be split again by rank), then all train one model
  together (Rabit tracker on 127.0.0.1, one thread per host). Which files a host gets is
  the service's business (`assign_shards` emulates ShardedByS3Key: sorted keys,
  round-robin); a host without training data is refused.

Not emulated: libsvm, Parquet and RecordIO-protobuf channels, Pipe mode, checkpoints
(spot), the container's own metric definitions, GPU training, Dask, `_kfold` cross
validation, and the model's serving (that is the serving program's job).

`tests/architectures/harness.py` trains the xgboost architecture with the same functions,
so the contract tests and the rehearsal agree on what the container accepts.

Executor use: `run_job(spec)` inside a step subprocess (`_launch.py builtin <spec.json>`).
"""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# Repository (last path part, before the tag) of each emulated built-in algorithm image.
IMAGE_REPOSITORIES = {"sagemaker-xgboost": "xgboost"}

# From aws/sagemaker-xgboost-container, src/sagemaker_xgboost_container/algorithm_mode/
# hyperparameter_validation.py and constants/xgb_constants.py (the 3.0-5 image).
# Numeric hyperparameters: (type, low, low included, high, high included); None = unbounded.
XGBOOST_NUMERIC: dict[str, tuple[str, float | None, bool, float | None, bool]] = {
    "num_round": ("integer", 1, True, None, False),
    "csv_weights": ("integer", 0, True, 1, True),
    "early_stopping_rounds": ("integer", 1, True, None, False),
    "verbosity": ("integer", 0, True, 3, True),
    "nthread": ("integer", 1, True, None, False),
    "max_depth": ("integer", 0, True, None, False),
    "refresh_leaf": ("integer", 0, True, 1, True),
    "max_leaves": ("integer", 0, True, None, False),
    "max_bin": ("integer", 0, True, None, False),
    "one_drop": ("integer", 0, True, 1, True),
    "num_class": ("integer", 2, True, None, False),
    "_kfold": ("integer", 2, True, None, False),
    "_num_cv_round": ("integer", 1, True, None, False),
    "seed": ("integer", -(2**31), False, 2**31 - 1, False),
    "num_parallel_tree": ("integer", 1, True, None, False),
    "prob_buffer_row": ("integer", 1, False, None, False),
    "eta": ("number", 0, True, 1, True),
    "gamma": ("number", 0, True, None, False),
    "min_child_weight": ("number", 0, True, None, False),
    "max_delta_step": ("number", 0, True, None, False),
    "subsample": ("number", 0, False, 1, True),
    "colsample_bytree": ("number", 0, False, 1, True),
    "colsample_bylevel": ("number", 0, False, 1, True),
    "colsample_bynode": ("number", 0, False, 1, True),
    "lambda": ("number", 0, True, None, False),
    "alpha": ("number", 0, True, None, False),
    "sketch_eps": ("number", 0, False, 1, False),
    "scale_pos_weight": ("number", 0, False, None, False),
    "rate_drop": ("number", 0, True, 1, True),
    "skip_drop": ("number", 0, True, 1, True),
    "lambda_bias": ("number", 0, True, 1, True),
    "tweedie_variance_power": ("number", 1, False, 2, False),
    "base_score": ("number", 0, True, None, False),
    "aft_loss_distribution_scale": ("number", 0, True, None, False),
}
_TRUE_FALSE = ("true", "false")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


XGBOOST_CATEGORICAL: dict[str, tuple[str, ...]] = {
    "booster": ("gbtree", "gblinear", "dart"),
    "tree_method": ("auto", "exact", "approx", "hist", "gpu_hist"),
    "dsplit": ("row", "col"),
    "process_type": ("default", "update"),
    "grow_policy": ("depthwise", "lossguide"),
    "predictor": ("auto", "cpu_predictor", "gpu_predictor"),
    "sample_type": ("uniform", "weighted"),
    "normalize_type": ("tree", "forest"),
    "objective": _words(
        """
        aft_loss_distribution binary:logistic binary:logitraw binary:hinge count:poisson
        multi:softmax multi:softprob rank:pairwise rank:ndcg rank:map reg:linear
        reg:squarederror reg:logistic reg:gamma reg:pseudohubererror reg:squaredlogerror
        reg:absoluteerror reg:tweedie survival:aft survival:cox
        """
    ),
    "save_model_on_termination": _TRUE_FALSE,
    "aft_loss_distribution": ("normal", "logistic", "extreme"),
    "deterministic_histogram": _TRUE_FALSE,
    "sampling_method": ("uniform", "gradient_based"),
    "use_dask_gpu_training": _TRUE_FALSE,
}
# eval_metric: a comma-separated list of these (XGB_MAXIMIZE_METRICS + XGB_MINIMIZE_METRICS).
XGBOOST_METRICS = _words(
    """
    accuracy auc aucpr balanced_accuracy f1 f1_binary f1_macro map ndcg precision r2 recall
    precision_macro precision_micro recall_macro recall_micro aft-nloglik cox-nloglik error
    gamma-deviance gamma-nloglik interval-regression-accuracy logloss mae mape merror
    mlogloss mphe mse poisson-nloglik rmse rmsle tweedie-nloglik
    """
)
# Accepted names whose values this emulation does not check.
XGBOOST_UNCHECKED = (
    "updater",
    "monotone_constraints",
    "interaction_constraints",
    "_tuning_objective_metric",
)
XGBOOST_ALIASES = {
    "learning_rate": "eta",
    "min_split_loss": "gamma",
    "reg_lambda": "lambda",
    "reg_alpha": "alpha",
}
XGBOOST_REQUIRED = ("num_round",)
XGBOOST_MODEL_FILE = "xgboost-model"  # xgb_constants.MODEL_NAME
# The container's channel content types (data_utils): no ContentType means libsvm.
_CONTENT_TYPES = {
    "text/csv": "csv",
    "csv": "csv",
    "text/libsvm": "libsvm",
    "libsvm": "libsvm",
    "application/x-parquet": "parquet",
    "parquet": "parquet",
    "application/x-recordio-protobuf": "recordio-protobuf",
    "recordio-protobuf": "recordio-protobuf",
}


class ContainerRefusal(ValueError):
    """What the container's own validation would fail the job with."""


def algorithm_of(image: str) -> str | None:
    """The emulated built-in algorithm an image URI runs ('xgboost'), or None."""
    repository = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    return IMAGE_REPOSITORIES.get(repository)


def channel_format(content_type: str | None) -> str:
    """A channel's data format as the container reads its ContentType ("csv", "libsvm",
    ...): none means libsvm; CSV allows only `label_size=1`."""
    if content_type is None:
        return "libsvm"
    media, _, options = content_type.partition(";")
    kind = _CONTENT_TYPES.get(media.strip().lower())
    if kind is None:
        raise ContainerRefusal(f"Content type {content_type} is not supported")
    if kind == "csv" and options.strip() not in ("", "label_size=1"):
        raise ContainerRefusal(f"{content_type}: only label_size=1 is supported for CSV")
    return kind


def xgboost_parameters(hyperparameters: Mapping[str, str]) -> dict[str, Any]:
    """The job's hyperparameters (strings) as the container validates and converts them:
    aliases replaced, unknown names refused, int()/float() parsing, ranges checked."""
    converted: dict[str, Any] = {}
    for raw_name, text in hyperparameters.items():
        name = XGBOOST_ALIASES.get(raw_name, raw_name)
        if name in XGBOOST_NUMERIC:
            kind, low, low_in, high, high_in = XGBOOST_NUMERIC[name]
            try:
                value: Any = int(text) if kind == "integer" else float(text)
            except ValueError as error:
                raise ContainerRefusal(f"Hyperparameter {name}: could not parse value") from error
            below = low is not None and (value < low or (value == low and not low_in))
            above = high is not None and (value > high or (value == high and not high_in))
            if below or above:
                raise ContainerRefusal(f"Hyperparameter {name}: value {value} out of range")
            converted[name] = value
        elif name in XGBOOST_CATEGORICAL:
            if text not in XGBOOST_CATEGORICAL[name]:
                raise ContainerRefusal(f"Hyperparameter {name}: value {text!r} not accepted")
            converted[name] = text
        elif name == "eval_metric":
            metrics = [m.strip() for m in text.split(",")]
            unknown = [m for m in metrics if m.split("@")[0] not in XGBOOST_METRICS]
            if unknown:
                raise ContainerRefusal(f"Hyperparameter eval_metric: {unknown} not accepted")
            converted[name] = metrics
        elif name in XGBOOST_UNCHECKED:
            converted[name] = text
        else:
            raise ContainerRefusal(f"Extraneous hyperparameter found: {raw_name}")
    for name in XGBOOST_REQUIRED:
        if name not in converted:
            raise ContainerRefusal(f"Missing required hyperparameter: {name}")
    return converted


def xgboost_channel_files(channel: Path) -> list[Path]:
    """A channel's data files as the container loads them (hidden files are an error;
    empty files hold no rows; '_' files are data)."""
    files = sorted(p for p in channel.rglob("*") if p.is_file())
    hidden = [p.name for p in files if p.name.startswith(".")]
    if hidden:
        raise ContainerRefusal(f"Hidden file found in the data path: {hidden}")
    return [p for p in files if p.stat().st_size > 0]


def xgboost_csv_dmatrix(files: Sequence[Path], work: Path) -> Any:
    """A DMatrix as the container loads a CSV channel in file mode: the files linked into
    one folder, the delimiter sniffed from the first line of the first file, then
    `DMatrix("<folder>?format=csv&label_column=0&delimiter=<d>")`; no labels is an error."""
    import xgboost as xgb

    if not files:
        raise ContainerRefusal("No data in the channel")
    work.mkdir(parents=True)
    for index, path in enumerate(files):
        (work / f"{index:05d}-{path.name}").symlink_to(path.resolve())
    first_line = files[0].read_text(encoding="utf-8").split("\n", 1)[0]
    delimiter = csv.Sniffer().sniff(first_line).delimiter
    matrix = xgb.DMatrix(f"{work}?format=csv&label_column=0&delimiter={delimiter}")
    if matrix.get_label().size == 0:
        raise ContainerRefusal("Got input data without labels")
    return matrix


def assign_shards(files: Sequence[Any], hosts: int) -> list[list[Any]]:
    """ShardedByS3Key: each object goes to one instance (here: sorted keys, round-robin).
    An instance with no object is refused (the container drops it from training)."""
    shares = [list(files[host::hosts]) for host in range(hosts)]
    empty = [index + 1 for index, share in enumerate(shares) if not share]
    if empty:
        raise ContainerRefusal(f"hosts {empty} of {hosts} have no training data")
    return shares


def train_xgboost(
    hyperparameters: Mapping[str, str],
    hosts: Sequence[Mapping[str, Sequence[Path]]],
    model_dir: Path,
    work: Path,
    *,
    threads: int | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Train as the container does on len(hosts) instances; `model_dir`/xgboost-model back.

    hosts: per instance, {channel name: its CSV files} ("train" required, "validation"
    optional); threads: `nthread` when the job sets none (None: the library's default,
    every core, as the container); log: one line of metrics per round (the container's
    job log), none if None.
    """
    params = xgboost_parameters(hyperparameters)
    rounds = params.pop("num_round")
    if threads is not None:
        params.setdefault("nthread", threads)
    if not hosts:
        raise ContainerRefusal("no hosts")
    missing = [index + 1 for index, channels in enumerate(hosts) if "train" not in channels]
    if missing:
        raise ContainerRefusal(f"hosts {missing}: the train channel is required")
    import xgboost as xgb  # after the checks: importing it takes seconds

    matrices = []
    for index, channels in enumerate(hosts):
        folder = work / f"algo-{index + 1}"
        evals = [(xgboost_csv_dmatrix(channels["train"], folder / "train"), "train")]
        if "validation" in channels:
            validation = xgboost_csv_dmatrix(channels["validation"], folder / "validation")
            evals.append((validation, "validation"))
        matrices.append(evals)
    model_dir.mkdir(parents=True, exist_ok=True)

    def train_job(evals: list[tuple[Any, str]], master: bool) -> None:
        history: dict[str, dict[str, list[float]]] = {}
        booster = xgb.train(
            dict(params),
            evals[0][0],
            num_boost_round=rounds,
            evals=evals,
            evals_result=history,
            verbose_eval=False,
        )
        if master:
            if log is not None:
                for number in range(rounds):
                    scores = [
                        f"{data}-{metric}:{values[number]:.5f}"
                        for data, metrics in history.items()
                        for metric, values in metrics.items()
                        if number < len(values)
                    ]
                    log(f"[{number}]\t" + "\t".join(scores))
            booster.save_model(str(model_dir / XGBOOST_MODEL_FILE))

    if len(hosts) == 1:
        train_job(matrices[0], master=True)
        return model_dir
    from xgboost.tracker import RabitTracker

    tracker = RabitTracker(host_ip="127.0.0.1", n_workers=len(hosts))
    tracker.start()
    errors: list[BaseException] = []

    def host(index: int, environment: dict[str, Any]) -> None:
        try:
            with xgb.collective.CommunicatorContext(**environment):
                # One model from every host's rows, not one model per host.
                if xgb.collective.get_world_size() != len(hosts):
                    raise ContainerRefusal("not every host joined the training")
                train_job(matrices[index], master=xgb.collective.get_rank() == 0)
        except BaseException as error:  # reported after join
            errors.append(error)

    workers = [
        threading.Thread(target=host, args=(index, tracker.worker_args()))
        for index in range(len(hosts))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    tracker.wait_for()
    if errors:
        raise errors[0]
    return model_dir


def run_job(spec: Mapping[str, Any]) -> None:
    """One built-in training job as the executor describes it
    (`rehearsal.executor.steps.training._builtin_job`):

    {"algorithm": "xgboost", "hyperparameters": {name: text}, "hosts": [{channel: folder}],
     "model_dir": folder, "work": folder, "threads": int | null}
    """
    if spec["algorithm"] != "xgboost":
        raise ContainerRefusal(f"built-in algorithm {spec['algorithm']!r} is not emulated")
    hosts = [
        {name: xgboost_channel_files(Path(folder)) for name, folder in channels.items()}
        for channels in spec["hosts"]
    ]
    print(
        json.dumps(
            {
                "hosts": len(hosts),
                "files": [{name: len(files) for name, files in h.items()} for h in hosts],
            }
        ),
        flush=True,
    )
    train_xgboost(
        spec["hyperparameters"],
        hosts,
        Path(spec["model_dir"]),
        Path(spec["work"]),
        threads=spec.get("threads"),
        log=lambda line: print(line, flush=True),
    )
    print(f"saved {XGBOOST_MODEL_FILE}", flush=True)
