-- pkgml extract template: training, version 2 (adds the product text: title, description, category_path)
-- Labelled products per package type, with the raw feature columns the training step reads
-- (pipeline_defs/steps/features.py RAW_COLUMNS, then RAW_TEXT_COLUMNS) plus package_type and label.
-- Placeholders (validated values only): ${run_date} YYYY-MM-DD, ${package_types} quoted list.
-- Lines starting with "--" are dropped before rendering; no ";" and no backslashes allowed.
SELECT
    p.product_id,
    p.length_cm,
    p.width_cm,
    p.height_cm,
    p.weight_kg,
    p.fragility,
    p.is_liquid,
    p.has_battery,
    p.category,
    p.price,
    p.title,
    p.description,
    p.category_path,
    l.package_type,
    l.label
FROM packaging.products AS p
JOIN packaging.package_labels AS l
    ON l.product_id = p.product_id
WHERE l.package_type IN (${package_types})
    AND l.labelled_at < DATE '${run_date}'
