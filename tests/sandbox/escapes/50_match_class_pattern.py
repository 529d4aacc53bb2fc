# match class patterns fetch attributes with a plain getattr (no guard)
import pandas as pd
df = pd.DataFrame({"a": [1]})
match df:
    case object(to_csv=write):
        write("{CANARY}")
