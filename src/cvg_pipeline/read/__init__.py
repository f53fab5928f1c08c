"""READ: a received file checked before any parser (precheck), read (workbook) and normalised into typed cells."""
