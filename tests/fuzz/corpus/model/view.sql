MODEL (name staging_v, kind VIEW);
SELECT 1 AS x