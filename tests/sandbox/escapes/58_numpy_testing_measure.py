# numpy.testing.measure() exec()s a code string
from numpy.testing import measure
measure("open('{CANARY}', 'w').write('pwned')")
