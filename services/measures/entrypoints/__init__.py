"""Entrypoints of the measures service: its HTTP API (`http`). Thin: parse, call a command, render."""
