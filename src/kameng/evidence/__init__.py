"""The evidence vault: files for refund cases, stored under generated names, in a hash chain."""
