"""The workbooks cvg writes for the ACI: the blank template and the error workbook."""
