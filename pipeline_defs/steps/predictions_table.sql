-- pkgml target table: the latest packaging-suitability score per product and package type.
--
-- One row per (product_id, package_type): the load step (load.py) replaces, in one
-- transaction, every row of the package type that its run re-scores and every row of an
-- earlier attempt of the same run, so the row left is from the most recently loaded run
-- (loaded_at). Redshift does not enforce the primary key; load.py refuses a load whose
-- predictions hold an id twice, which keeps it true.
--
-- Run once per database (schema `ml` must exist), or pass `--create-table` to load.py.
-- load.py replaces the table name below with its `--target-table`.
CREATE TABLE IF NOT EXISTS ml.package_type_predictions (
    product_id VARCHAR(64) NOT NULL,
    package_type VARCHAR(32) NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    model_package_arn VARCHAR(256) NOT NULL,
    model_package_version INTEGER NOT NULL,
    run_id VARCHAR(63) NOT NULL,
    run_kind VARCHAR(32) NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (product_id, package_type)
)
DISTSTYLE KEY
DISTKEY (product_id)
SORTKEY (package_type, product_id);
