"""Stand-in for the XGBoost 3.0-5 image's own package (see ../README.md).

- `training.main` (SAGEMAKER_TRAINING_MODULE) trains in algorithm mode: the image's
  xgboost, numpy and Python run `rehearsal/builtin.py`, our emulation of the container's
  algorithm-mode driver (hyperparameter checks, CSV channels, `xgb.train`, `xgboost-model`
  saved by the master). That emulation was checked against the container's own code
  (release-3.0.5) on one and two hosts: byte-identical models.
- `serving.serving_entrypoint` / `serving.main`: script-mode serving of a program
  (SAGEMAKER_PROGRAM), the calls the container makes into sagemaker-containers. Handlers
  a program does not define would be the container's defaults, which are not shimmed:
  a program must define `model_fn`, `input_fn`, `predict_fn` and `output_fn` (ours do).
"""
