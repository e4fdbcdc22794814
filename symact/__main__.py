from symact.cli import entrypoint

entrypoint()
