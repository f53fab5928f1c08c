"""CHECK: the error catalogue and the validation of the reporting file's rules over every file at once."""
