"""The platform's rules in one object: deadlines, thresholds, categories (operators edit them)."""
