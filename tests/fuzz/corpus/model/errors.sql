MODEL (name foundation_x, kind FULL, audits (bogus));
SELECT @nope FROM t; SELECT 2