"""Verification: differential testing of implementations (:mod:`.difftest`), loading them
(:mod:`.impl`), formula comparison (:mod:`.formula`), strategies and pytest helpers.
"""
