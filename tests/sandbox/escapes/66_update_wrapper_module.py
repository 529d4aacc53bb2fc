# functools.update_wrapper copies __dict__ into its "wrapper" with a plain update: monkeypatch a module
import functools
import json
class Payload:
    def __init__(self):
        self.dumps = print
functools.update_wrapper(json, Payload())
