"""The widget panel, driven from Python as a person would click it."""
