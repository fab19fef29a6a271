"""kameng: a virtual-goods marketplace with escrow and buyer protection."""
