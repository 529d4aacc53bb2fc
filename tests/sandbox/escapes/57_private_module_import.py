# import a private module under an innocent alias
import pandas._testing as t
print(t)
