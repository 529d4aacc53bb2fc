# sleep forever
# layer: os (resource exhaustion: the kernel layers and limits stop it, not the language layer)
# expect-error: Timeout
import time
time.sleep(10 ** 9)
