"""Research notes: the review of Markdown notes (:mod:`.review`) and the child process their
code runs in (:mod:`.sandbox`).
"""
