# matplotlib's sphinx extension runs plot code through exec()
import matplotlib.sphinxext.plot_directive as pdv
pdv.run_code("open('{CANARY}', 'w').write('pwned')", "x.py")
