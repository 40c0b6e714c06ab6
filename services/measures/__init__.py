"""measures: individual plans (individuell plan) and measures (åtgärder) offered to youths."""
