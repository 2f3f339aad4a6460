ALTER TABLE scans DROP COLUMN compliance_score;
