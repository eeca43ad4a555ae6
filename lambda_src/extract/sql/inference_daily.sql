-- pkgml extract template: inference-daily, version 2 (adds the product text: title, description, category_path)
-- Products added during the day before the run date: [run_date - 1 day, run_date).
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
WHERE p.created_at >= DATEADD(day, -1, DATE '${run_date}')
    AND p.created_at < DATE '${run_date}'
