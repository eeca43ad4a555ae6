-- pkgml extract template: inference-monthly, version 2 (adds the product text: title, description, category_path)
-- Every product that existed before the run date (a full re-score).
-- Placeholders (validated values only): ${run_date} YYYY-MM-DD.
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
    p.category_path
FROM packaging.products AS p
WHERE p.created_at < DATE '${run_date}'
