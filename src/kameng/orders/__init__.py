"""Orders with escrow (担保交易), delivery, confirmation, chat and export."""
