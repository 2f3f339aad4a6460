-- Nothing to undo: validation changes no row.
SELECT 1;
