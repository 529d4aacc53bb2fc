# file:// URI to sidestep path handling
import pandas as pd
print(pd.read_csv("file:///etc/passwd", sep=":", header=None))
