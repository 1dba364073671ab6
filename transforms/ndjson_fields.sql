-- One batch of NDJSON lines (registered as `lines`): line number, blank-line flag, and the text at each JSONPath.
SELECT {source_row}, trim(line) = '' AS {blank},
       CASE WHEN json_valid(line) THEN json_extract_string(line, $paths) END AS _fields
FROM lines;
