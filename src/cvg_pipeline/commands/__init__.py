"""One module per group of commands; each command parses options and calls one library function."""
