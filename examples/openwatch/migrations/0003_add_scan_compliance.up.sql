-- 1.1.0: compliance score per scan.
ALTER TABLE scans ADD COLUMN compliance_score NUMERIC(5, 2);
