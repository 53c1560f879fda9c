-- 021: the reason code 'truncated' (issue 23): the last record of a file
-- without its line end, in a file whose control file says it is complete
-- (its `records` count includes the cut record). A cut file without such
-- a control file is not ingested at all: it is left in the spool for the
-- next run (jobs/README.md, "Cut and unsettled files").
INSERT INTO quarantine_reasons (code, description) VALUES
  ('truncated', 'the last record has no line end (the file was cut), and the control file counts it');
