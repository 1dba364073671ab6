-- Runs one rule file's SELECT (its text goes in place of rule_select) and appends its rows to work.rule_roles.
INSERT INTO work.rule_roles SELECT $rule_id AS rule_id, * FROM (
{rule_select}
) AS r;
