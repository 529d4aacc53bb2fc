# read the environment through os
import os
print(dict(os.environ))
