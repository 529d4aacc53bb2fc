# pandas reader on another process's file descriptor table
import pandas as pd
print(pd.read_csv("/proc/1/environ", sep="\0", header=None))
