"""The notebook front ends: the magics, the panel and its progress bar, the cell it writes, the demo server.
The only layer that imports IPython or ipywidgets."""
