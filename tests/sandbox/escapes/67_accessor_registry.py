# pandas accessor registry sets a class attribute on DataFrame, bypassing the write guard
import pandas as pd
class Hijack:
    def __init__(self, obj):
        self.obj = obj
pd.api.extensions.register_dataframe_accessor("to_parquet")(Hijack)
