# (e) pandas options are regex patterns: "display.*|plotting.backend" style keys sneak past a prefix check
import pandas as pd

pd.set_option("plotting.back", "this")
