"""Double-entry ledger in integer fen: accounts, journal entries, postings that sum to zero."""
