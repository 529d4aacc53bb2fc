# sleep forever
# expect-error: Timeout
import time
time.sleep(10 ** 9)
