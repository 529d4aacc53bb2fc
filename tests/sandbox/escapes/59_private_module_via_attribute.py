# reach a private extension module through a public attribute chain
import pandas as pd
lib = pd.core.dtypes.common.lib
print(lib)
