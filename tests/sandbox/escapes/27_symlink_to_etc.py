# the workdir contains a symlink "etc_link" -> /etc (planted by the test)
import pandas as pd
print(open("etc_link/passwd").read())
print(pd.read_csv("etc_link/passwd", sep=":", header=None))
