# np.memmap on /etc/passwd
import numpy as np
print(bytes(np.memmap("/etc/passwd", dtype="uint8", mode="r")[:100]))
