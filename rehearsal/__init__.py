"""Local rehearsal: run the synthesized SageMaker pipeline definitions on one machine, offline.

`rehearsal.executor` runs a definition's steps in dependency order against local stand-ins
(S3 = a folder tree, the Model Registry = a JSON file, Redshift = DuckDB);
`rehearsal.builtin` trains SageMaker's built-in XGBoost algorithm as its container does;
`rehearsal.scenario` drives the training and inference pipelines of any architecture
through a few weeks of generated data (`python -m rehearsal`). See rehearsal/README.md for
what is and is not emulated. Importing this package is cheap: no SDK, boto3 or DuckDB
import happens here.
"""
